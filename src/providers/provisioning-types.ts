// What the provider authenticator (src/providers/) asks of provisioning
// (src/providers/provisioning.ts): the WordPress user for a person an
// identity provider vouches for, found or made by the bridge's
// users/provision route (DESIGN §4).

/** A person as a verified provider token describes them. */
export interface ProvisionRequest {
  /** The provider's name in `providers:` (links are per provider). */
  provider: string
  /** The value of the provider's identifying claim (`sub`, or `oid` for Azure AD). */
  subject: string
  email: string | null
  /** The provider says it verified the email (`email_verified`); linking by email needs it. */
  emailVerified: boolean
  displayName: string | null
  /** WordPress roles mapped from the token's role claim; null when the provider maps none. */
  roles: readonly string[] | null
}

/** The operator's choices for one provider. */
export interface ProvisionPolicy {
  /** Make a WordPress user for a person seen for the first time (false: 403 GW_ERR_USER_NOT_PROVISIONED). */
  create: boolean
  /** Link to an existing WordPress user with the same email, if the provider verified it. */
  linkByEmail: boolean
  /** Set the user's roles to the mapped ones on later tokens. */
  updateRoles: boolean
  /** The role a new user gets when the token maps none. */
  defaultRole: string
}
