/**
 * How long the tests wait for something that will happen: long enough for a machine several times
 * slower than a developer's, or one whose cores are busy with other work. A wait ends as soon as
 * its event or state arrives, so a generous limit costs nothing when things go well; it only
 * bounds how long a real failure takes to report.
 */
export const PATIENCE_MS = 180_000;
