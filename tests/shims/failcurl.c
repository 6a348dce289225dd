/* failcurl.c - an LD_PRELOAD shim for the tests: curl_multi_add_handle
 * fails after FAIL_AFTER calls, as when memory or descriptors run out, so
 * that the path that starts a retry and fails is taken for real. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>

#include <curl/curl.h>

CURLMcode curl_multi_add_handle(CURLM *m, CURL *e)
{
	static int calls;
	static CURLMcode (*real)(CURLM *, CURL *);
	const char *after = getenv("FAIL_AFTER");

	if (real == NULL)
		*(void **)&real = dlsym(RTLD_NEXT, "curl_multi_add_handle");
	if (after != NULL && ++calls > atoi(after))
		return CURLM_OUT_OF_MEMORY;
	return real(m, e);
}
