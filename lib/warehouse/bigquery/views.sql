-- The warehouse's views over the two fact tables, in BigQuery's dialect
-- (GoogleSQL), for a dataset loaded as meter-warehouse(5) BIGQUERY says:
-- `meter.meter_hour` from meter-standardize's (or meter-aggregate --db's)
-- meter hours, `meter.property_hour` from meter-enrich's property hours.
-- The local calendar comes from the enriched records' `local` field
-- (YYYY-MM-DDThh:mm:ss+hh:mm), as the SQLite warehouse's columns do.
-- Replace `meter.` with your dataset.

CREATE OR REPLACE VIEW meter.monthly_consumption AS
SELECT participant, property, quantity, SUBSTR(local, 1, 7) AS month,
  ROUND(IF(unit IN ('degC', '%', 'people', 'ppm'), AVG(value), SUM(value)), 3)
    AS value,
  unit, COUNT(*) AS hours
FROM meter.property_hour
GROUP BY participant, property, quantity, month, unit;

CREATE OR REPLACE VIEW meter.daily_consumption AS
SELECT participant, property, quantity, local_date,
  ROUND(IF(unit IN ('degC', '%', 'people', 'ppm'), AVG(value), SUM(value)), 3)
    AS value,
  unit, COUNT(*) AS hours
FROM meter.property_hour
GROUP BY participant, property, quantity, local_date, unit;

CREATE OR REPLACE VIEW meter.hourly_profile AS
SELECT participant, property, quantity, weekday,
  CAST(SUBSTR(local, 12, 2) AS INT64) AS local_hour,
  AVG(value) AS mean, unit, COUNT(*) AS hours
FROM meter.property_hour
GROUP BY participant, property, quantity, weekday, local_hour, unit;

-- Energy per calendar year and floor area, ranked within property type
-- (1 the lowest kWh/m2, to eight decimals: sums in any order tie); the
-- SQLite warehouse's building_comparison also
-- leaves out suspect hours and ranks only periods of 90 % coverage, which
-- needs its meter_hour.suspect column and settings table.
CREATE OR REPLACE VIEW meter.building_comparison AS
WITH periods AS (
  SELECT participant, property, ANY_VALUE(type) AS type,
    SUBSTR(local, 1, 4) AS year, SUM(value) AS energy_kwh,
    SUM(co2_kg) AS co2_kg, MAX(area_m2) AS area_m2, COUNT(*) AS hours
  FROM meter.property_hour
  WHERE quantity IN ('electricity', 'gas', 'heat', 'cooling')
  GROUP BY participant, property, year)
SELECT participant, property, type, year, ROUND(energy_kwh, 3) AS energy_kwh,
  area_m2, ROUND(energy_kwh / NULLIF(area_m2, 0), 4) AS kwh_per_m2,
  ROUND(co2_kg, 3) AS co2_kg, hours,
  IF(area_m2 > 0, RANK() OVER (PARTITION BY type, year, area_m2 > 0
    ORDER BY ROUND(energy_kwh / NULLIF(area_m2, 0), 8)), NULL) AS rank_in_type
FROM periods;

-- Per meter: first and last hour, hours present and missing between
-- them, and the longest gap.
CREATE OR REPLACE VIEW meter.data_quality AS
WITH h AS (
  SELECT participant, property, meter, quantity, hour, quality,
    TIMESTAMP_DIFF(hour, LAG(hour) OVER (PARTITION BY participant, meter,
      quantity ORDER BY hour), HOUR) - 1 AS gap_before
  FROM meter.meter_hour)
SELECT participant, MAX(property) AS property, meter, quantity,
  MIN(hour) AS first_hour, MAX(hour) AS last_hour,
  COUNT(*) AS hours_present,
  TIMESTAMP_DIFF(MAX(hour), MIN(hour), HOUR) + 1 - COUNT(*) AS hours_missing,
  COUNTIF(quality = 'interpolated') AS hours_interpolated,
  COUNTIF(quality = 'estimated') AS hours_estimated,
  COALESCE(MAX(gap_before), 0) AS longest_gap_hours
FROM h GROUP BY participant, meter, quantity;
