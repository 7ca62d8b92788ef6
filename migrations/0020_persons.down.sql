DROP TABLE call_backs;
DROP TABLE safe_contacts;
DROP TABLE person_link_decisions;
DROP TABLE incident_persons;
DROP TABLE persons;
