/* units.c - quantities, their canonical units, and unit conversions: the
 * one table of them in the toolkit (meter-records(5) lists it). */
#include "meter_priv.h"

#include <string.h>
#include <strings.h>

/* Append only: a quantity's place in this table is its code in a SQLite
 * warehouse (schema 7, MT_WH_QUANTITIES in warehouse/schema.sql.h lists
 * the same), and a new one needs a migration that teaches the warehouse
 * its name and unit. */
static const struct mt_quantity quantities[] = {
	{ "electricity", "kWh", MT_Q_ADDITIVE, "energy" },
	/* what a building gives back to the grid (solar): never summed into
	 * its consumption, and no energy figure of the benchmark counts it */
	{ "electricity_export", "kWh", MT_Q_ADDITIVE, "energy" },
	{ "gas", "kWh", MT_Q_ADDITIVE, "energy" },
	{ "heat", "kWh", MT_Q_ADDITIVE, "energy" },
	{ "cooling", "kWh", MT_Q_ADDITIVE, "energy" },
	{ "water", "m3", MT_Q_ADDITIVE, "volume" },
	/* NEM12's Q and K streams: metered, never energy */
	{ "reactive_energy", "kvarh", MT_Q_ADDITIVE, "reactive" },
	{ "temperature", "degC", MT_Q_LEVEL, "temperature" },
	{ "outside_temperature", "degC", MT_Q_LEVEL, "temperature" },
	{ "humidity", "%", MT_Q_LEVEL, "percent" },
	{ "occupancy", "people", MT_Q_LEVEL, "count" },
	{ "co2", "ppm", MT_Q_LEVEL, "concentration" },
};

struct unit {
	const char *name;
	const char *dimension;
	double factor, offset;
	int rate;
};

/* factor and offset give the dimension's canonical unit; a rate's factor
 * gives canonical units per hour. */
static const struct unit units[] = {
	{ "Wh", "energy", 1e-3, 0, 0 },
	{ "kWh", "energy", 1, 0, 0 },
	{ "MWh", "energy", 1e3, 0, 0 },
	{ "GWh", "energy", 1e6, 0, 0 },
	{ "J", "energy", 1 / 3.6e6, 0, 0 },
	{ "kJ", "energy", 1 / 3.6e3, 0, 0 },
	{ "MJ", "energy", 1 / 3.6, 0, 0 },
	{ "GJ", "energy", 1e3 / 3.6, 0, 0 },
	{ "therm", "energy", 29.307107, 0, 0 },   /* US therm, 100,000 Btu */
	{ "W", "energy", 1e-3, 0, 1 },
	{ "kW", "energy", 1, 0, 1 },
	{ "MW", "energy", 1e3, 0, 1 },
	{ "varh", "reactive", 1e-3, 0, 0 },
	{ "kvarh", "reactive", 1, 0, 0 },
	{ "Mvarh", "reactive", 1e3, 0, 0 },
	{ "m3", "volume", 1, 0, 0 },
	{ "l", "volume", 1e-3, 0, 0 },
	{ "L", "volume", 1e-3, 0, 0 },
	{ "gal", "volume", 3.785411784e-3, 0, 0 },  /* US gallon */
	{ "ft3", "volume", 0.028316846592, 0, 0 },
	{ "m3/h", "volume", 1, 0, 1 },
	{ "l/min", "volume", 60e-3, 0, 1 },
	{ "l/s", "volume", 3600e-3, 0, 1 },
	{ "degC", "temperature", 1, 0, 0 },
	{ "degF", "temperature", 5.0 / 9.0, -32 * 5.0 / 9.0, 0 },
	{ "K", "temperature", 1, -273.15, 0 },
	{ "%", "percent", 1, 0, 0 },
	{ "people", "count", 1, 0, 0 },
	{ "ppm", "concentration", 1, 0, 0 },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

_Static_assert(COUNT(quantities) == MT_WH_NQUANTITIES, "a new quantity "
    "needs a warehouse migration: see MT_WH_QUANTITIES in schema.sql.h");

int mt_quantity_code(const struct mt_quantity *q)
{
	return (int)(q - quantities);
}

const struct mt_quantity *mt_quantity_of_code(int code)
{
	return code >= 0 && (size_t)code < COUNT(quantities) ? &quantities[code] : NULL;
}

const struct mt_quantity *mt_quantity_find(const char *name)
{
	for (size_t i = 0; i < COUNT(quantities); i++)
		if (strcmp(quantities[i].name, name) == 0)
			return &quantities[i];
	return NULL;
}

int mt_unit_convert(const struct mt_quantity *q, const char *unit,
    struct mt_conv *c, struct mt_err *err)
{
	memset(c, 0, sizeof *c);
	/* A volume of gas is energy only through its calorific value. */
	if (strcmp(q->dimension, "energy") == 0 && strcmp(unit, "m3") == 0) {
		c->factor = 1 / 3.6;   /* kWh per m3 for each MJ/m3 */
		c->needs_cv = 1;
		return 0;
	}
	for (size_t i = 0; i < COUNT(units); i++) {
		const struct unit *u = &units[i];
		if (strcmp(u->name, unit) != 0)
			continue;
		if (strcmp(u->dimension, q->dimension) != 0) {
			mt_err_set(err, NULL, 0,
			    "unit \"%s\" cannot be converted to %s (%s)", unit,
			    q->unit, q->name);
			return -1;
		}
		c->factor = u->factor;
		c->offset = u->offset;
		c->rate = u->rate;
		return 0;
	}
	if (mt_unit_suggest(unit) != NULL)
		mt_err_set(err, NULL, 0, "unknown unit \"%.40s\": did you mean \"%s\"?",
		    unit, mt_unit_suggest(unit));
	else
		mt_err_set(err, NULL, 0, "unknown unit \"%.40s\" (meter-records(5) "
		    "lists the units)", unit);
	return -1;
}

/* A unit only one quantity is measured in.  kWh is electricity, gas,
 * heat or cooling, m3 water or gas: those are never guessed, since a gas
 * meter read as electricity is wrong without a word. */
const struct mt_quantity *mt_quantity_for_unit(const char *unit)
{
	static const struct { const char *unit, *quantity; } only[] = {
		{ "therm", "gas" }, { "l", "water" }, { "L", "water" },
		{ "gal", "water" }, { "l/min", "water" }, { "l/s", "water" },
		{ "degC", "temperature" }, { "degF", "temperature" },
		{ "K", "temperature" }, { "%", "humidity" }, { "people", "occupancy" },
		{ "ppm", "co2" }, { "varh", "reactive_energy" },
		{ "kvarh", "reactive_energy" }, { "Mvarh", "reactive_energy" },
	};

	for (size_t i = 0; i < COUNT(only); i++)
		if (strcmp(only[i].unit, unit) == 0)
			return mt_quantity_find(only[i].quantity);
	return NULL;
}

/* Whether quantity q can be measured in unit (of dimension dim): m3 is
 * a volume, and gas is metered by volume as well as by energy. */
static int measured_in(const struct mt_quantity *q, const char *dim,
    const char *unit)
{
	return strcmp(q->dimension, dim) == 0 ||
	    (strcmp(unit, "m3") == 0 && strcmp(q->name, "gas") == 0);
}

void mt_quantities_of_unit(const char *unit, char *buf, size_t cap)
{
	const char *dim = NULL;
	size_t n = 0, k = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < COUNT(units) && dim == NULL; i++)
		if (strcmp(units[i].name, unit) == 0)
			dim = units[i].dimension;
	if (dim == NULL)
		return;
	for (size_t i = 0; i < COUNT(quantities); i++)
		n += measured_in(&quantities[i], dim, unit);
	for (size_t i = 0; i < COUNT(quantities); i++) {
		if (!measured_in(&quantities[i], dim, unit))
			continue;
		k++;
		snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s",
		    k == 1 ? "" : k == n ? " or " : ", ", quantities[i].name);
	}
}

/* A unit written another way than the table's: "kwh" for "kWh". */
const char *mt_unit_suggest(const char *unit)
{
	for (size_t i = 0; i < COUNT(units); i++)
		if (strcasecmp(units[i].name, unit) == 0)
			return units[i].name;
	return NULL;
}
