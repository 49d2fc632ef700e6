package io.msiagent.store.windows;

import com.sun.jna.Callback;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.Structure;
import com.sun.jna.ptr.PointerByReference;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link AttestationLibrary} over {@code AttestationClientLib.dll} through JNA (cdecl, ANSI strings,
 * as MSAL.NET declares it). Loaded on first use; a missing DLL makes attestation unavailable, with
 * the loader's message as the reason. Calls are serialised: the library keeps global state between
 * Init and Uninit.
 */
final class JnaAttestationLibrary implements AttestationLibrary {
    private static final Logger LOG = LoggerFactory.getLogger(JnaAttestationLibrary.class);
    /** A system property naming the DLL's full path; otherwise the normal DLL search (PATH, jna.library.path). */
    static final String LIBRARY_PROPERTY = "msiagent.attestation.library";
    private static final String LIBRARY_NAME = "AttestationClientLib";

    interface AttestationClientLib extends Library {
        int InitAttestationLib(AttestationLogInfo info);

        int AttestKeyGuardImportKey(String endpoint, String authToken, String clientPayload, Pointer keyHandle,
                PointerByReference token, String clientId);

        void FreeAttestationToken(Pointer token);

        void UninitAttestationLib();
    }

    /** {@code void (*)(void* ctx, const char* tag, int level, const char* func, int line, const char* msg)}. */
    public interface LogFunc extends Callback {
        void invoke(Pointer ctx, String tag, int level, String function, int line, String message);
    }

    /** {@code AttestationLogInfo { LogFunc Log; void* Ctx; }}. */
    @Structure.FieldOrder({"log", "ctx"})
    public static final class AttestationLogInfo extends Structure {
        public LogFunc log;
        public Pointer ctx;
    }

    /** Native log lines go to SLF4J; messages may carry key ids, so they are logged at debug only. */
    private static final LogFunc LOG_BRIDGE = (ctx, tag, level, function, line, message) -> {
        try {
            if (level == 0) {
                LOG.warn("attestation library error [{}] {}:{}", tag, function, line);
            }
            LOG.debug("attestation library [{}] {}:{} {}", tag, function, line, message);
        } catch (RuntimeException ignored) {
            // never throw back into native code
        }
    };

    private Object loaded;

    @Override
    public synchronized Optional<String> unavailableReason() {
        Object lib = load();
        return lib instanceof String ? Optional.of((String) lib) : Optional.empty();
    }

    @Override
    public synchronized Result attestKeyGuardKey(String endpoint, long keyHandle, String clientId) {
        Object lib = load();
        if (lib instanceof String) {
            throw new IllegalStateException((String) lib);
        }
        AttestationClientLib dll = (AttestationClientLib) lib;
        AttestationLogInfo info = new AttestationLogInfo();
        info.log = LOG_BRIDGE;
        int init = dll.InitAttestationLib(info);
        if (init != 0) {
            return new Result(init, null);
        }
        try {
            PointerByReference token = new PointerByReference();
            int rc = dll.AttestKeyGuardImportKey(endpoint, null, null, new Pointer(keyHandle), token, clientId);
            Pointer p = token.getValue();
            String jwt = null;
            if (p != null) {
                try {
                    jwt = p.getString(0);
                } finally {
                    dll.FreeAttestationToken(p);
                }
            }
            return new Result(rc, jwt);
        } finally {
            dll.UninitAttestationLib();
            java.lang.ref.Reference.reachabilityFence(info); // the library may keep a pointer to it until Uninit
        }
    }

    /** The library, or a String saying why it cannot be loaded. */
    private Object load() {
        if (loaded == null) {
            String path = System.getProperty(LIBRARY_PROPERTY);
            try {
                loaded = Native.load(path != null ? path : LIBRARY_NAME, AttestationClientLib.class);
            } catch (UnsatisfiedLinkError e) {
                loaded = LIBRARY_NAME + ".dll could not be loaded (install the KeyGuard attestation library or set -D"
                        + LIBRARY_PROPERTY + "): " + e.getMessage();
            }
        }
        return loaded;
    }
}
