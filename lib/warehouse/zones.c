/* zones.c - what both backends keep of the properties' zones while they
 * load: the zones opened, each property's (looked up once per write lock:
 * a configuration loaded meanwhile may move it), and the local months
 * whose length the calendar_month table has been given. */
#define _POSIX_C_SOURCE 200809L
#include "zones.h"

#include <stdlib.h>
#include <string.h>

void mt_zones_init(struct mt_zones *z)
{
	memset(z, 0, sizeof *z);
	z->by_property = mt_map_new();
	z->months = mt_map_new();
}

void mt_zones_free(struct mt_zones *z)
{
	for (size_t i = 0; i < z->n; i++) {
		mt_zone_free(z->tzs[i]->zone);
		free(z->tzs[i]);
	}
	free(z->tzs);
	mt_map_free(z->by_property);
	mt_map_free(z->months);
	memset(z, 0, sizeof *z);
}

void mt_zones_forget_properties(struct mt_zones *z)
{
	mt_map_free(z->by_property);
	z->by_property = mt_map_new();
}

struct mt_tz *mt_zones_named(struct mt_zones *z, const char *name,
    struct mt_err *err)
{
	struct mt_tz *tz;
	struct mt_zone *zone;

	for (size_t i = 0; i < z->n; i++)
		if (strcmp(z->tzs[i]->name, name) == 0)
			return z->tzs[i];
	if (strlen(name) >= sizeof tz->name || (zone = mt_zone_open(name, err)) == NULL)
		return NULL;
	tz = mt_xcalloc(1, sizeof *tz);
	snprintf(tz->name, sizeof tz->name, "%s", name);
	tz->zone = zone;
	z->tzs = mt_xrealloc(z->tzs, (z->n + 1) * sizeof *z->tzs);
	z->tzs[z->n++] = tz;
	return tz;
}

static size_t property_key(char *key, size_t cap, const char *participant,
    const char *property)
{
	int n = snprintf(key, cap, "%s%c%s", participant, 0, property);

	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

struct mt_tz *mt_zones_of_property(struct mt_zones *z, const char *participant,
    const char *property)
{
	char key[2 * MT_ID_MAX + 8];
	size_t n = property_key(key, sizeof key, participant, property);

	return n ? mt_map_get(z->by_property, key, n) : NULL;
}

void mt_zones_set_property(struct mt_zones *z, const char *participant,
    const char *property, struct mt_tz *tz)
{
	char key[2 * MT_ID_MAX + 8];
	size_t n = property_key(key, sizeof key, participant, property);

	if (n)
		mt_map_put(z->by_property, key, n, tz);
}

/* UTC instant of local midnight starting a month (the first instant that
 * exists, should a zone skip midnight). */
static mt_time_t month_start(struct mt_zone *z, int y, unsigned m)
{
	mt_time_t wall = mt_days_from_civil(y, m, 1) * 86400000, utc[2];

	while (mt_zone_to_utc(z, wall, utc) == 0)
		wall += MT_HOUR_MS;
	return utc[0];
}

long mt_zones_new_month(struct mt_zones *z, const struct mt_tz *tz,
    const char *month)
{
	char key[96];
	int n = snprintf(key, sizeof key, "%s|%s", tz->name, month), y;
	unsigned m;
	mt_time_t start, end;

	if (mt_map_get(z->months, key, (size_t)n) != NULL)
		return 0;
	mt_map_put(z->months, key, (size_t)n, z);
	y = atoi(month);
	m = (unsigned)atoi(month + 5);
	start = month_start(tz->zone, y, m);
	end = m == 12 ? month_start(tz->zone, y + 1, 1) : month_start(tz->zone, y, m + 1);
	return (long)((end - start) / MT_HOUR_MS);
}
