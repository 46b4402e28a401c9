// Reads an iCalendar document on stdin and prints what ical.js makes of it, as JSON:
// every VEVENT's UID, SUMMARY and start/end in UTC (its TZID resolved through the document's
// own VTIMEZONE, registered here: ical.js knows no zones by itself). (ical.js converts UTC to
// a zone by looking the UTC wall time up as if it were local, so only local -> UTC is asked.)
import ICAL from "ical.js";

let text = "";
for await (const chunk of process.stdin) text += chunk;
const root = new ICAL.Component(ICAL.parse(text));
const zones = {};
for (const vtz of root.getAllSubcomponents("vtimezone")) {
  const zone = new ICAL.Timezone(vtz);
  ICAL.TimezoneService.register(zone.tzid, zone);
  zones[zone.tzid] = zone;
}
const utc = (time) => (time ? time.convertToZone(ICAL.Timezone.utcTimezone).toString() : null);
const events = root.getAllSubcomponents("vevent").map((vevent) => {
  const event = new ICAL.Event(vevent);
  return {
    uid: event.uid,
    summary: event.summary,
    description: event.description,
    location: event.location,
    is_date: event.startDate.isDate,
    start: event.startDate.isDate ? event.startDate.toString() : utc(event.startDate),
    end: event.endDate && !event.endDate.isDate ? utc(event.endDate) : null,
  };
});
const calname = root.getFirstPropertyValue("x-wr-calname");
const name = root.getFirstPropertyValue("name");
process.stdout.write(JSON.stringify({ events, zones: Object.keys(zones), calname, name }));
