-- Issue 16: a follow-up task recorded as "reached and safe" (she was
-- contacted) where her safe-contact rule did not say contact was safe
-- keeps the reason given for contacting her anyway. It belongs to that
-- task's outcome and is written by the same update that closes it, once.
ALTER TABLE follow_up_tasks ADD COLUMN unsafe_reason text
    CONSTRAINT follow_up_tasks_unsafe_reason_len CHECK (length(unsafe_reason) BETWEEN 1 AND 500),
    ADD CONSTRAINT follow_up_tasks_unsafe_reason_outcome CHECK (unsafe_reason IS NULL OR outcome = 'reached_safe');
