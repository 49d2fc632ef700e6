package io.msiagent.imds;

import java.time.Duration;

/** Durations as people read them in messages: "500 ms", "90 s". */
final class Durations {
    private Durations() {
    }

    static String human(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }
}
