-- Victims across incidents (issue 16): a person record for a victim or a
-- suspect, linked to incidents. A person is created for an incident's
-- victim when intake records how she may be contacted, and when a
-- dispatcher, officer or supervisor confirms that two incidents concern
-- the same person; never from a match on a name alone. The names and ages
-- stay on the incidents: a person holds the links, the safe-contact rule
-- and, once merged into another, where it went.
CREATE TABLE persons (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    merged_into bigint REFERENCES persons (id),
    merged_at   timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  bigint REFERENCES users (id),
    CONSTRAINT persons_not_merged_into_self CHECK (merged_into IS DISTINCT FROM id)
);

-- Which person is an incident's victim (or suspect). One person per
-- incident and role; a link undone by a supervisor is deleted here and
-- kept in person_link_decisions with its reason.
CREATE TABLE incident_persons (
    incident_id bigint NOT NULL REFERENCES incidents (id),
    role        text NOT NULL CHECK (role IN ('victim', 'suspect')),
    person_id   bigint NOT NULL REFERENCES persons (id),
    linked_at   timestamptz NOT NULL DEFAULT now(),
    linked_by   bigint REFERENCES users (id),
    PRIMARY KEY (incident_id, role)
);
CREATE INDEX incident_persons_person_idx ON incident_persons (person_id, role);

-- Every decision about a link: confirmed (same person as in the other
-- incident), rejected (not the same: the offer is not made again), undone
-- (a supervisor removed the link, with a reason), merged.
CREATE TABLE person_link_decisions (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id       bigint NOT NULL REFERENCES incidents (id),
    role              text NOT NULL CHECK (role IN ('victim', 'suspect')),
    other_incident_id bigint REFERENCES incidents (id),
    person_id         bigint REFERENCES persons (id),
    decision          text NOT NULL CHECK (decision IN ('confirmed', 'rejected', 'undone', 'merged')),
    reason            text NOT NULL DEFAULT '' CHECK (length(reason) <= 500),
    decided_by        bigint REFERENCES users (id),
    decided_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT person_link_decisions_undo_reason CHECK (decision <> 'undone' OR length(reason) > 0)
);
CREATE INDEX person_link_decisions_incident_idx ON person_link_decisions (incident_id, role);
CREATE INDEX person_link_decisions_other_idx ON person_link_decisions (other_incident_id) WHERE other_incident_id IS NOT NULL;

-- How a victim may be contacted, carried to her later incidents (it is the
-- person's) and editable on each. Never on the board, in exports or logs.
CREATE TABLE safe_contacts (
    person_id   bigint PRIMARY KEY REFERENCES persons (id),
    safe_to_call boolean,
    phone       text NOT NULL DEFAULT '' CHECK (length(phone) <= 40),
    safe_times  text NOT NULL DEFAULT '' CHECK (length(safe_times) <= 200),
    message_ok  boolean,
    code_word   text NOT NULL DEFAULT '' CHECK (length(code_word) <= 100),
    who         text NOT NULL DEFAULT 'police' CHECK (who IN ('police', 'police_ngo')),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  bigint REFERENCES users (id)
);

-- Every call-back made from an incident: who, when, and (where the rule
-- said calling was unsafe or unknown) the reason given.
CREATE TABLE call_backs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id bigint NOT NULL REFERENCES incidents (id),
    person_id   bigint REFERENCES persons (id),
    unsafe      boolean NOT NULL,
    reason      text NOT NULL DEFAULT '' CHECK (length(reason) <= 500),
    called_by   bigint REFERENCES users (id),
    called_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT call_backs_unsafe_reason CHECK (NOT unsafe OR length(reason) > 0)
);
CREATE INDEX call_backs_incident_idx ON call_backs (incident_id);
