import { z } from 'zod';

/** An IANA time zone name the runtime's Intl knows (Asia/Shanghai, Europe/Berlin, UTC...). */
export const TimeZoneSchema = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'an IANA time zone such as Asia/Shanghai');
