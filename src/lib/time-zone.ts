/** Whether `zone` names a time zone this runtime knows (IANA names such as Europe/Paris, or UTC). */
export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
