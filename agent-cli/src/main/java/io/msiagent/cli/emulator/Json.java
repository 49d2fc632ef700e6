package io.msiagent.cli.emulator;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;

/** The one Jackson mapper of the emulator, and the error bodies IMDS and ESTS send. */
final class Json {
    static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {
    }

    static ObjectNode object() {
        return MAPPER.createObjectNode();
    }

    static byte[] bytes(JsonNode node) {
        try {
            return MAPPER.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static String compact(JsonNode node) {
        return new String(bytes(node), StandardCharsets.UTF_8);
    }

    /** IMDS-style: {@code {"error":"invalid_request","error_description":"..."}}. */
    static ObjectNode imdsError(String error, String description) {
        return object().put("error", error).put("error_description", description);
    }
}
