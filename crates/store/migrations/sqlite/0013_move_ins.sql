-- Move-in requests (迁入申请): a user of the new jurisdiction asks to register a person who is registered
-- elsewhere; the person's current jurisdiction approves (the person moves, in the same transaction)
-- or refuses with a reason. Append-only.
CREATE TABLE move_ins (
    id              INTEGER PRIMARY KEY,
    resident_id     INTEGER NOT NULL,
    id_type         TEXT NOT NULL,
    id_number       TEXT NOT NULL,
    name            TEXT NOT NULL,          -- as the requester typed it
    from_grid       TEXT NOT NULL,          -- the person's grid when the request was filed
    to_grid         TEXT NOT NULL,
    to_household    TEXT NOT NULL,
    to_address      TEXT NOT NULL,
    to_relation     TEXT NOT NULL,
    reason          TEXT NOT NULL,
    status          TEXT NOT NULL,          -- pending | approved | refused
    requested_by    TEXT NOT NULL,
    requested_at    INTEGER NOT NULL,
    decided_by      TEXT,
    decided_at      INTEGER,
    decision_reason TEXT NOT NULL DEFAULT ''
);
-- The current jurisdiction's inbox (pending first is a filter on a few rows per grid range).
CREATE INDEX move_ins_by_from ON move_ins (from_grid, id);
-- The requesting jurisdiction's list.
CREATE INDEX move_ins_by_to ON move_ins (to_grid, id);
CREATE INDEX move_ins_by_resident ON move_ins (resident_id, status);
