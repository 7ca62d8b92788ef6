DROP TABLE incident_events;
DROP FUNCTION incident_events_append_only();
DROP TABLE incident_units;
DROP TABLE incidents;
DROP SEQUENCE incident_number_seq;
