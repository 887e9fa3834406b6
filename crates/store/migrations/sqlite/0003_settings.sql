-- Installation-wide settings, e.g. the secret that signs residents' personal sampling codes.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
