-- Violations (incidents linked to the protection order they breach) are
-- few: the follow-through figures count a period's from this index
-- instead of reading all the period's incidents.
CREATE INDEX IF NOT EXISTS incidents_violations_idx ON incidents (received_at) WHERE protection_order_id IS NOT NULL;
