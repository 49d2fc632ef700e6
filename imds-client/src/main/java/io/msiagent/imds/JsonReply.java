package io.msiagent.imds;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A JSON object reply, read strictly: property names are case-sensitive, unknown properties are
 * ignored, duplicate names and trailing content are refused, trailing commas are tolerated (as
 * MSAL.NET's serializer does). A string field must be a JSON string: a number, boolean, object or
 * array where a GUID or URL is expected means the server is not the one we think, so it is refused
 * rather than coerced. Numeric fields accept a number or a numeric string (ESTS sends both).
 * Error descriptions name the field and the problem, never the content.
 */
final class JsonReply {
    private static final JsonMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
            .enable(JsonReadFeature.ALLOW_TRAILING_COMMA)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private static final Pattern UNRECOGNIZED_TOKEN = Pattern.compile("Unrecognized token '[^']*'");

    private final JsonNode object;

    private JsonReply(JsonNode object) {
        this.object = object;
    }

    /**
     * Jackson's exceptions are not kept as causes: their messages quote body content (e.g.
     * "Unrecognized token 'abc'"), and a cause ends up in a caller's log with its stack trace.
     */
    static JsonReply parse(byte[] body) throws ReplyFormatException {
        JsonNode node;
        try {
            node = MAPPER.readTree(body);
        } catch (JsonEOFException e) {
            throw new ReplyFormatException("the JSON body is truncated (ends at byte " + body.length + ")");
        } catch (JsonParseException e) {
            throw new ReplyFormatException("the body is not valid JSON (" + safe(e.getOriginalMessage())
                    + " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")");
        } catch (JsonProcessingException e) {
            throw new ReplyFormatException("the body is not valid JSON (" + safe(e.getOriginalMessage()) + ")");
        } catch (IOException e) {
            throw new ReplyFormatException("the body could not be read as JSON (" + e.getClass().getSimpleName() + ")");
        }
        if (node == null || node.isMissingNode()) {
            throw new ReplyFormatException("the body is empty, expected a JSON object");
        }
        if (!node.isObject()) {
            throw new ReplyFormatException("the body is a JSON " + typeName(node) + ", expected a JSON object");
        }
        return new JsonReply(node);
    }

    /**
     * Jackson's parse message without body content: "Unrecognized token 'xyz'" quotes what it read,
     * and a bare token as the body would land in our exception message.
     */
    private static String safe(String jacksonMessage) {
        String s = UNRECOGNIZED_TOKEN.matcher(String.valueOf(jacksonMessage)).replaceAll("Unrecognized token");
        return Redactor.excerpt(s.split("\n", 2)[0]);
    }

    /** A non-blank string field. */
    String requiredString(String field) throws ReplyFormatException {
        return optionalString(field).orElseThrow(() -> new ReplyFormatException("field '" + field + "' is missing"));
    }

    /** A string field that may be absent or null; present but blank is refused. */
    Optional<String> optionalString(String field) throws ReplyFormatException {
        JsonNode value = object.get(field);
        if (value == null || value.isNull()) {
            return Optional.empty();
        }
        if (!value.isTextual()) {
            throw new ReplyFormatException("field '" + field + "' is a JSON " + typeName(value) + ", expected a string");
        }
        if (value.textValue().isBlank()) {
            throw new ReplyFormatException("field '" + field + "' is empty");
        }
        return Optional.of(value.textValue());
    }

    /** A string field that may be absent, null or empty (blank becomes empty). */
    Optional<String> lenientString(String field) {
        JsonNode value = object.get(field);
        return value != null && value.isTextual() && !value.textValue().isBlank()
                ? Optional.of(value.textValue()) : Optional.empty();
    }

    /** A nested object field. */
    JsonReply requiredObject(String field) throws ReplyFormatException {
        JsonNode value = object.get(field);
        if (value == null || value.isNull()) {
            throw new ReplyFormatException("field '" + field + "' is missing");
        }
        if (!value.isObject()) {
            throw new ReplyFormatException("field '" + field + "' is a JSON " + typeName(value) + ", expected an object");
        }
        return new JsonReply(value);
    }

    /** A whole number given as a JSON number or a numeric string; empty when absent or null. */
    Optional<Long> optionalLong(String field) throws ReplyFormatException {
        JsonNode value = object.get(field);
        if (value == null || value.isNull()) {
            return Optional.empty();
        }
        if (value.isIntegralNumber() && value.canConvertToLong()) {
            return Optional.of(value.longValue());
        }
        if (value.isTextual()) {
            try {
                return Optional.of(Long.parseLong(value.textValue().strip()));
            } catch (NumberFormatException e) {
                throw new ReplyFormatException("field '" + field + "' is not a whole number");
            }
        }
        throw new ReplyFormatException("field '" + field + "' is a JSON " + typeName(value) + ", expected a whole number");
    }

    /** The first element of an array of whole numbers, e.g. ESTS {@code error_codes}; lenient. */
    Optional<Long> firstLongOfArray(String field) {
        JsonNode value = object.get(field);
        if (value != null && value.isArray() && !value.isEmpty() && value.get(0).canConvertToLong()) {
            return Optional.of(value.get(0).longValue());
        }
        return Optional.empty();
    }

    private static String typeName(JsonNode node) {
        return switch (node.getNodeType()) {
            case ARRAY -> "array";
            case OBJECT, POJO -> "object";
            case NUMBER -> "number";
            case BOOLEAN -> "boolean";
            case STRING -> "string";
            case NULL -> "null";
            default -> node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        };
    }
}
