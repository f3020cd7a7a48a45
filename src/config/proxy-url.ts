/** Proxy URLs for logs and messages: the host shown, credentials never. */

/**
 * `href` with any user and password replaced by `***` (`http://***@webproxy.nais:8088`). Parsed,
 * not pattern-matched: a password may itself hold `@` or `/`. What does not parse keeps only what
 * follows its last `@`.
 */
export function maskProxyUrl (href: string): string {
  let url: URL
  try {
    url = new URL(href)
  } catch {
    const at = href.lastIndexOf('@')
    return at === -1 ? href : `***@${href.slice(at + 1)}`
  }
  if (url.username === '' && url.password === '') return href
  return `${url.protocol}//***@${url.host}${url.pathname === '/' ? '' : url.pathname}`
}

/** A proxy setting for the start-up log: masked, or undefined (left out of the line) when unset. */
export function describeProxyUrl (href: string): string | undefined {
  return href === '' ? undefined : maskProxyUrl(href)
}
