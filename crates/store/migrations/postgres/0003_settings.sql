-- Installation-wide settings, e.g. the secret that signs residents' personal sampling codes.
CREATE TABLE settings (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value TEXT COLLATE "C" NOT NULL
);
