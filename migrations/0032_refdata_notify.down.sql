DROP TRIGGER refdata_notify ON priority_targets;
DROP TRIGGER refdata_notify ON priorities;
DROP TRIGGER refdata_notify ON incident_types;
DROP TRIGGER refdata_notify ON settlements;
DROP TRIGGER refdata_notify ON districts;
DROP FUNCTION refdata_notify();
