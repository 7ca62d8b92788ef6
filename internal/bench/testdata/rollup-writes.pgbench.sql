-- The write cost of the rollup triggers: one incident logged and then
-- dispatched, as two transactions, spread over the demo's 5 districts,
-- 4 priorities and 8 types. See internal/report/ROLLUPS.md, "Write cost".
\set d random(1, 5)
\set p random(1, 4)
\set t random(1, 8)
INSERT INTO incidents (number, received_at, type_id, priority, district_id) VALUES ('AB2-' || :client_id || '-' || (random() * 2e9)::bigint, now(), :t, :p, :d) RETURNING id \gset
UPDATE incidents SET dispatched_at = now() WHERE id = :id;
