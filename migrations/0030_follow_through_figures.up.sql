-- The follow-through figures (postgres.FollowThroughWith) read a period's
-- tasks by due time, its orders by issue time and the orders in force by
-- end time. These indexes hold what those counts read, so each is an
-- index-only scan of the period's rows instead of a read of every task or
-- order. IF NOT EXISTS: the follow-through benchmark adds them to its
-- shared databases itself.
CREATE INDEX IF NOT EXISTS follow_up_tasks_figures_idx ON follow_up_tasks (due_at)
    INCLUDE (closed_at, outcome, district_id, incident_id) WHERE outcome IS DISTINCT FROM 'superseded';
CREATE INDEX IF NOT EXISTS protection_orders_issued_idx ON protection_orders (issued_at) INCLUDE (incident_id);
CREATE INDEX IF NOT EXISTS protection_orders_in_force_idx ON protection_orders (ends_at)
    INCLUDE (starts_at, ended_at, incident_id, district_id);
