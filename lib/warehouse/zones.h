/* zones.h - the properties' zones as a load keeps them (zones.c). */
#ifndef MT_ZONES_H
#define MT_ZONES_H

#include "../meter_priv.h"

struct mt_tz {
	char name[64];
	struct mt_zone *zone;
};

struct mt_zones {
	struct mt_map *by_property;      /* participant\0property -> mt_tz */
	struct mt_tz **tzs;
	size_t n;
	struct mt_map *months;           /* timezone|month given its length */
};

void mt_zones_init(struct mt_zones *z);
void mt_zones_free(struct mt_zones *z);
/* Under a new write lock: a property's zone is looked up again. */
void mt_zones_forget_properties(struct mt_zones *z);
/* A zone by IANA name, opened once. */
struct mt_tz *mt_zones_named(struct mt_zones *z, const char *name,
    struct mt_err *err);
/* A property's zone as looked up before, or NULL. */
struct mt_tz *mt_zones_of_property(struct mt_zones *z, const char *participant,
    const char *property);
void mt_zones_set_property(struct mt_zones *z, const char *participant,
    const char *property, struct mt_tz *tz);
/* The hours of a local month (YYYY-MM) in the zone, the first time it is
 * asked for; 0 after. */
long mt_zones_new_month(struct mt_zones *z, const struct mt_tz *tz,
    const char *month);

#endif
