package io.msiagent.cli.emulator;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashMap;
import java.util.Map;

/** What a handler wants to answer, before faults mangle it. */
final class Reply {
    final int status;
    final ObjectNode json;
    final Map<String, String> headers = new LinkedHashMap<>();

    Reply(int status, ObjectNode json) {
        this.status = status;
        this.json = json;
    }

    Reply header(String name, String value) {
        headers.put(name, value);
        return this;
    }
}
