-- Address confidentiality: the address of an incident's victim can be
-- flagged confidential (a shelter, a safe house, a victim who moved away
-- from the suspect). While it is, the incident page shows the address, the
-- location notes and the coordinates only to the officers of a unit on the
-- incident and to the supervisors who may see the incident; everyone else
-- reads "Address confidential". Dispatchers, officers and supervisors may
-- set the flag; only a supervisor may lift it, with a reason. Who set or
-- lifted it, when and why is kept in incident_events and audit_events: the
-- row holds only the current state.
ALTER TABLE incidents ADD COLUMN address_confidential boolean NOT NULL DEFAULT false;
