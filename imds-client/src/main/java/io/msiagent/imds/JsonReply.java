package io.msiagent.imds;

import java.math.BigInteger;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A JSON object reply, read strictly ({@link Json}): property names are case-sensitive, unknown
 * properties are ignored, duplicate names and trailing content are refused, trailing commas are
 * tolerated (as MSAL.NET's serializer does). A string field must be a JSON string: a number,
 * boolean, object or array where a GUID or URL is expected means the server is not the one we
 * think, so it is refused rather than coerced. Numeric fields accept a number or a numeric string
 * (ESTS sends both). Error descriptions name the field and the problem, never the content.
 */
final class JsonReply {
    private final Map<?, ?> object;

    private JsonReply(Map<?, ?> object) {
        this.object = object;
    }

    static JsonReply parse(byte[] body) throws ReplyFormatException {
        Object value;
        try {
            value = Json.parse(body);
        } catch (Json.SyntaxException e) {
            if (e.truncated() && body.length > 0 && !new String(body, java.nio.charset.StandardCharsets.UTF_8).isBlank()) {
                throw new ReplyFormatException("the JSON body is truncated (ends at byte " + body.length + ")");
            }
            if (e.truncated()) {
                throw new ReplyFormatException("the body is empty, expected a JSON object");
            }
            throw new ReplyFormatException("the body is not valid JSON (" + e.getMessage() + ")");
        }
        if (!(value instanceof Map<?, ?> map)) {
            throw new ReplyFormatException("the body is a JSON " + typeName(value) + ", expected a JSON object");
        }
        return new JsonReply(map);
    }

    /** A non-blank string field. */
    String requiredString(String field) throws ReplyFormatException {
        return optionalString(field).orElseThrow(() -> new ReplyFormatException("field '" + field + "' is missing"));
    }

    /** A string field that may be absent or null; present but blank is refused. */
    Optional<String> optionalString(String field) throws ReplyFormatException {
        Optional<String> text = optionalText(field);
        if (text.isPresent() && text.get().isBlank()) {
            throw new ReplyFormatException("field '" + field + "' is empty");
        }
        return text;
    }

    /** A string field that may be absent or null (empty Optional), or any string, empty included. */
    Optional<String> optionalText(String field) throws ReplyFormatException {
        Object value = object.get(field);
        if (value == null) {
            return Optional.empty();
        }
        if (!(value instanceof String text)) {
            throw new ReplyFormatException("field '" + field + "' is a JSON " + typeName(value) + ", expected a string");
        }
        return Optional.of(text);
    }

    /** A string field that may be absent, null or empty (blank becomes empty). */
    Optional<String> lenientString(String field) {
        return object.get(field) instanceof String text && !text.isBlank() ? Optional.of(text) : Optional.empty();
    }

    /** A nested object field. */
    JsonReply requiredObject(String field) throws ReplyFormatException {
        Object value = object.get(field);
        if (value == null) {
            throw new ReplyFormatException("field '" + field + "' is missing");
        }
        if (!(value instanceof Map<?, ?> map)) {
            throw new ReplyFormatException("field '" + field + "' is a JSON " + typeName(value) + ", expected an object");
        }
        return new JsonReply(map);
    }

    /** A whole number given as a JSON number or a numeric string; empty when absent or null. */
    Optional<Long> optionalLong(String field) throws ReplyFormatException {
        Object value = object.get(field);
        if (value == null) {
            return Optional.empty();
        }
        if (value instanceof Long n) {
            return Optional.of(n);
        }
        if (value instanceof String text) {
            try {
                return Optional.of(Long.parseLong(text.strip()));
            } catch (NumberFormatException e) {
                throw new ReplyFormatException("field '" + field + "' is not a whole number");
            }
        }
        if (value instanceof BigInteger) {
            throw new ReplyFormatException("field '" + field + "' is a whole number out of range");
        }
        throw new ReplyFormatException("field '" + field + "' is a JSON " + typeName(value) + ", expected a whole number");
    }

    /** The first element of an array of whole numbers, e.g. ESTS {@code error_codes}; lenient. */
    Optional<Long> firstLongOfArray(String field) {
        if (object.get(field) instanceof List<?> list && !list.isEmpty() && list.get(0) instanceof Long n) {
            return Optional.of(n);
        }
        return Optional.empty();
    }

    private static String typeName(Object value) {
        if (value == null) {
            return "null";
        }
        if (value instanceof Map) {
            return "object";
        }
        if (value instanceof List) {
            return "array";
        }
        if (value instanceof String) {
            return "string";
        }
        if (value instanceof Boolean) {
            return "boolean";
        }
        return "number";
    }
}
