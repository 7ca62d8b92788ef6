DROP INDEX IF EXISTS incidents_violations_idx;
