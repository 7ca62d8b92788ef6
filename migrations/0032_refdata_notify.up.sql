-- Every serve process keeps the reference data that reports and forms
-- read on each request (districts, settlements, incident types,
-- priorities and their targets) while it LISTENs on dv_changes, and
-- empties its copy when it hears "refdata:1" (internal/postgres/refcache.go).
-- These triggers announce every change to those tables in the writing
-- transaction, whoever makes it (the application, an import, a seed, an
-- operator's SQL); PostgreSQL delivers it once the transaction commits,
-- and once per transaction however many rows or statements changed.
CREATE FUNCTION refdata_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('dv_changes', 'refdata:1');
    RETURN NULL;
END $$;

CREATE TRIGGER refdata_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON districts
    FOR EACH STATEMENT EXECUTE FUNCTION refdata_notify();
CREATE TRIGGER refdata_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON settlements
    FOR EACH STATEMENT EXECUTE FUNCTION refdata_notify();
CREATE TRIGGER refdata_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON incident_types
    FOR EACH STATEMENT EXECUTE FUNCTION refdata_notify();
CREATE TRIGGER refdata_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON priorities
    FOR EACH STATEMENT EXECUTE FUNCTION refdata_notify();
CREATE TRIGGER refdata_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON priority_targets
    FOR EACH STATEMENT EXECUTE FUNCTION refdata_notify();
