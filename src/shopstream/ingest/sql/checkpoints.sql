-- Where each unit (file, simulator run) continues after a restart.
CREATE TABLE IF NOT EXISTS checkpoints (
    unit       VARCHAR PRIMARY KEY,
    position   BIGINT  NOT NULL,  -- records committed so far
    complete   BOOLEAN NOT NULL,  -- the unit was read to its end
    updated_at TIMESTAMPTZ NOT NULL
);
