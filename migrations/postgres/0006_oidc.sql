-- OIDC sign-in (version 6; independent of version 5, so either may be applied first).
-- A provider may map the groups its users belong to (the claim named in `groups_claim`) to team
-- memberships, applied at each sign-in.
ALTER TABLE oidc_providers ADD COLUMN groups_claim TEXT;
CREATE TABLE oidc_group_teams (
  provider_id VARCHAR(255) NOT NULL REFERENCES oidc_providers(id) ON DELETE CASCADE,
  group_name TEXT NOT NULL,
  team_id VARCHAR(255) NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  PRIMARY KEY (provider_id, group_name, team_id)
);
CREATE INDEX idx_oidc_group_teams_team ON oidc_group_teams(team_id);
