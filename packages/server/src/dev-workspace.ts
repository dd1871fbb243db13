import type { Repositories } from './storage/repositories.js';

/** Who the start-up dev token names: an admin of its own organisation. */
export const DEV_ORGANIZATION_ID = 'dev';
export const DEV_USER_ID = 'dev-user';
const DEV_USER_EMAIL = 'dev-user@apix.invalid';

/**
 * Makes the dev token's identity real: organisation `dev`, user `dev-user`, and a membership
 * with role `admin`. Without the rows the token could publish but not use the admin API
 * (creating an API key answered "organisation not found"), which is the first thing the
 * publisher example does. Idempotent; only called when the dev token is printed, i.e. on a
 * loopback listener.
 */
export async function ensureDevWorkspace(repositories: Repositories): Promise<void> {
  if (!(await repositories.organizations.findById(DEV_ORGANIZATION_ID))) {
    await repositories.organizations.create({ id: DEV_ORGANIZATION_ID, name: 'Development' });
  }
  if (!(await repositories.users.findById(DEV_USER_ID))) {
    await repositories.users.create({ id: DEV_USER_ID, email: DEV_USER_EMAIL, displayName: 'Development user' });
  }
  const membership = await repositories.memberships.find(DEV_ORGANIZATION_ID, DEV_USER_ID);
  if (!membership) await repositories.memberships.put(DEV_ORGANIZATION_ID, DEV_USER_ID, ['admin']);
}
