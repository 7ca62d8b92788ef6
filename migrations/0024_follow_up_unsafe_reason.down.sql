ALTER TABLE follow_up_tasks DROP COLUMN unsafe_reason;
