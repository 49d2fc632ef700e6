package io.msiagent.cli;

import java.time.Duration;

/** Durations for people: {@code 4d 3h}, {@code 12m 5s}, {@code 850ms}. */
final class Durations {
    private Durations() {
    }

    static String human(Duration d) {
        boolean negative = d.isNegative();
        d = d.abs();
        String s;
        if (d.toDays() > 0) {
            s = d.toDays() + "d " + d.toHoursPart() + "h";
        } else if (d.toHours() > 0) {
            s = d.toHours() + "h " + d.toMinutesPart() + "m";
        } else if (d.toMinutes() > 0) {
            s = d.toMinutes() + "m " + d.toSecondsPart() + "s";
        } else if (d.getSeconds() > 0) {
            s = d.getSeconds() + "." + (d.toMillisPart() / 100) + "s";
        } else {
            s = d.toMillis() + "ms";
        }
        return negative ? "-" + s : s;
    }
}
