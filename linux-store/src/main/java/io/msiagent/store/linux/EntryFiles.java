package io.msiagent.store.linux;

import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.Sha256;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/**
 * The files of one identity's entry. Names:
 * <ul>
 *   <li>system-assigned: {@code msal_mtls.pem / .json / .pfx / .lock};</li>
 *   <li>a client or object id that is a GUID: {@code msal_mtls_client_id_<guid, lower case>.*}
 *       ({@code object_id} likewise): readable, and GUIDs are safe file names;</li>
 *   <li>anything else (ARM resource ids contain slashes; odd ids may contain anything):
 *       {@code msal_mtls_<kind>_<first 16 hex of SHA-256 of the lower-cased id>.*}.</li>
 * </ul>
 * Names never collide: the system name has no kind suffix, kinds differ in their prefix, a GUID (36
 * characters with dashes) never looks like a 16-hex hash, and distinct GUIDs give distinct names.
 * Ids are compared case-insensitively (Azure treats GUIDs and ARM ids so), hence the lower case.
 * Base names contain no dot, so {@code <base>.} prefixes never match another identity's files.
 */
final class EntryFiles {
    static final String QUARANTINE_MARKER = ".corrupt-";
    private static final String PREFIX = "msal_mtls";

    private final Path directory;
    private final String base;

    EntryFiles(Path directory, ManagedIdentityId identity) {
        this.directory = directory;
        this.base = baseName(identity);
    }

    static String baseName(ManagedIdentityId identity) {
        if (identity.isSystemAssigned()) {
            return PREFIX;
        }
        String kind = identity.kind().label();
        String value = identity.value().toLowerCase(Locale.ROOT);
        boolean guidKind = identity.kind() == ManagedIdentityId.Kind.CLIENT_ID
                || identity.kind() == ManagedIdentityId.Kind.OBJECT_ID;
        if (guidKind && isGuid(value)) {
            return PREFIX + "_" + kind + "_" + value;
        }
        return PREFIX + "_" + kind + "_" + sha256Hex(value).substring(0, 16);
    }

    /** The identity as stored in metadata and compared on load: case-insensitive ids. */
    static String canonical(ManagedIdentityId identity) {
        return identity.toString().toLowerCase(Locale.ROOT);
    }

    Path directory() {
        return directory;
    }

    String base() {
        return base;
    }

    Path pem() {
        return directory.resolve(base + ".pem");
    }

    Path metadata() {
        return directory.resolve(base + ".json");
    }

    Path pkcs12() {
        return directory.resolve(base + ".pfx");
    }

    Path lock() {
        return directory.resolve(base + ".lock");
    }

    /** The files that make up the entry (the lock file is not part of it and is never removed). */
    List<Path> entryFiles() {
        return List.of(pem(), metadata(), pkcs12());
    }

    /** Is {@code fileName} a quarantined file of this entry? */
    boolean isQuarantined(String fileName) {
        return fileName.startsWith(base + ".") && fileName.contains(QUARANTINE_MARKER);
    }

    /** Is {@code fileName} a temp file left by an interrupted write of this entry? */
    boolean isTemp(String fileName) {
        for (Path p : entryFiles()) {
            if (fileName.startsWith(SecureFiles.tempPrefix(p))) {
                return true;
            }
        }
        return false;
    }

    /** 8-4-4-4-12 hex digits with dashes. */
    static boolean isGuid(String s) {
        if (s.length() != 36) {
            return false;
        }
        for (int i = 0; i < 36; i++) {
            char c = s.charAt(i);
            boolean hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
            if (i == 8 || i == 13 || i == 18 || i == 23 ? c != '-' : !hex) {
                return false;
            }
        }
        return true;
    }

    /** Core's own SHA-256, not MessageDigest's: naming the files must not start the JCA on a cold start. */
    private static String sha256Hex(String s) {
        return HexFormat.of().formatHex(Sha256.digest(s.getBytes(StandardCharsets.UTF_8)));
    }
}
