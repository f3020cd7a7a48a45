/** The one rule for plain http: fine to this machine, never across a network (JWKS, egress targets). */

/** True for URLs on this machine (127.0.0.0/8, localhost, [::1]), where plain http is fine for local runs. */
export function isLoopbackUrl (href: string): boolean {
  const host = new URL(href).hostname
  return host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host)
}
