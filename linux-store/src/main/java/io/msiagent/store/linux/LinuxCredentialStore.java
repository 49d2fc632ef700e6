package io.msiagent.store.linux;

import io.msiagent.core.EncodedKeyAndCertificate;
import io.msiagent.core.KeyMatch;
import io.msiagent.core.ManagedIdentityId;
import io.msiagent.core.MtlsCredential;
import io.msiagent.core.StoreException;
import io.msiagent.core.spi.CredentialStore;
import io.msiagent.core.spi.LoadResult;
import io.msiagent.core.spi.StoreLock;
import io.msiagent.core.spi.StoreOptions;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Linux credential store: one directory (0700, see {@link StoreDirectory}) of 0600 files per
 * identity, see {@link EntryFiles} for names:
 * <ul>
 *   <li>{@code <base>.pem}: PKCS#8 private key + certificate chain, self-sufficient for
 *       {@code openssl} and {@code curl --cert};</li>
 *   <li>{@code <base>.json}: {@link EntryMetadata}, keyed by the certificate's {@code x5t#S256};</li>
 *   <li>{@code <base>.pfx}: optional PKCS#12 (empty password), see {@link Pkcs12Codec};</li>
 *   <li>{@code <base>.lock}: the cross-process lock (holds the holder's pid; never removed).</li>
 * </ul>
 *
 * <p><b>Crash consistency.</b> Every file is replaced atomically ({@link SecureFiles#writeAtomically}).
 * A save writes, in order: metadata holding the new entry <i>and</i> the previous ones, the PKCS#12
 * file, the PEM, then metadata holding only the new entry. Whichever PEM a crash leaves, the
 * metadata on disk has its entry, so the store always loads a matching key, certificate and
 * metadata. A reader racing an unlocked writer may see a PEM whose entry is not yet (or no longer)
 * in the metadata: it re-reads a few times before calling the entry corrupt.
 *
 * <p>Saves, deletes and quarantines take the identity's lock themselves (reentrantly, so calling
 * them inside {@link #lock} on the same thread is what the engine does).
 */
public final class LinuxCredentialStore implements CredentialStore {
    /**
     * What a first peek or load loads beyond the JDK's default class-data archive, in its order
     * (from a {@code -Xlog:class+load} of a cold start on JDK 17; the JDK's interfaces come with
     * the classes that implement them). Names, not class literals: a literal would load the class
     * on the thread that initialises this one. Not PrivatePaths$Uid: its initialisation reads
     * /proc (or writes a probe file), and a failure there is the read's to report, with its cause.
     */
    private static final List<String> READ_PATH_CLASSES = List.of(
            "io.msiagent.store.linux.EntryFiles",
            "io.msiagent.store.linux.PathFacts",
            "sun.nio.fs.UnixFileAttributeViews$Posix",
            "sun.nio.fs.AbstractBasicFileAttributeView$AttributesBuilder",
            "io.msiagent.store.linux.PrivatePaths",
            "java.io.UncheckedIOException",
            "sun.nio.fs.UnixException",
            "sun.nio.fs.UnixFileModeAttribute",
            "sun.nio.fs.UnixChannelFactory",
            "sun.nio.fs.UnixChannelFactory$Flags",
            "sun.nio.ch.FileChannelImpl",
            "sun.nio.ch.IOUtil",
            "sun.nio.ch.NativeThreadSet",
            "sun.nio.ch.FileDispatcherImpl",
            "sun.nio.ch.FileChannelImpl$Closer",
            "java.nio.channels.Channels",
            "sun.nio.ch.ChannelInputStream",
            "java.nio.channels.SelectableChannel",
            "sun.nio.ch.Interruptible",
            "sun.nio.ch.NativeThread",
            "sun.nio.ch.Util",
            "sun.nio.ch.Util$BufferCache",
            "java.nio.DirectByteBuffer$Deallocator",
            "sun.nio.ch.IOStatus",
            "io.msiagent.store.linux.EntryMetadata",
            "io.msiagent.imds.Json",
            "java.nio.charset.CharacterCodingException",
            "sun.nio.cs.UTF_8$Decoder",
            "io.msiagent.store.linux.EntryMetadata$Entry",
            "io.msiagent.store.linux.PemCodec",
            "java.security.cert.CertificateException",
            "java.util.Base64$Decoder",
            "java.util.Base64$Encoder",
            "io.msiagent.store.linux.PemCodec$Contents",
            "java.security.cert.CertificateEncodingException",
            "io.msiagent.store.linux.LinuxCredentialStore$Read");
    private static final int READ_ATTEMPTS = 5;
    private static final Duration REREAD_PAUSE = Duration.ofMillis(20);
    private static final int MAX_FILE_BYTES = 1 << 20;
    private static final int METADATA_ENTRIES_KEPT = 3;

    private final Path directory;
    private final boolean writePkcs12;
    private static final Duration QUARANTINE_LOCK_WAIT = Duration.ofSeconds(1);

    private final Duration internalLockWait;
    private final Ticker ticker;
    private final LockFiles locks;
    private final Quarantine quarantine;
    private final Set<PermissionFinding> warnedAbove = ConcurrentHashMap.newKeySet();

    private LinuxCredentialStore(Builder b) {
        this.directory = StoreDirectory.resolve(b.directory, b.environment, b.userHome);
        this.writePkcs12 = b.writePkcs12;
        this.internalLockWait = b.internalLockWait;
        this.ticker = b.ticker;
        this.locks = new LockFiles(b.ticker);
        this.quarantine = new Quarantine(b.clock);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The store {@code options} describe, with the directory resolved from this process' environment. */
    public static LinuxCredentialStore open(StoreOptions options) {
        return builder().directory(options.directory()).writePkcs12(options.writePkcs12()).clock(options.clock()).build();
    }

    /** The store directory (it may not exist yet). */
    public Path directory() {
        return directory;
    }

    /** The PEM file (key + certificate chain) of {@code identity}: what {@code curl --cert} takes. */
    public Path pemFile(ManagedIdentityId identity) {
        return files(identity).pem();
    }

    public Path metadataFile(ManagedIdentityId identity) {
        return files(identity).metadata();
    }

    /** The PKCS#12 file (empty password, alias {@code msal_mtls}); it exists only when written. */
    public Path pkcs12File(ManagedIdentityId identity) {
        return files(identity).pkcs12();
    }

    /** The identity's lock file ({@code fcntl}-locked while a process re-reads the store and issues). */
    public Path lockFile(ManagedIdentityId identity) {
        return files(identity).lock();
    }

    @Override
    public String location(ManagedIdentityId identity) {
        return pemFile(identity).toString();
    }

    /**
     * Everything wrong with the directory's and our files' ownership and modes, without repairing
     * anything: for {@code doctor}. Empty when all is well (or nothing exists yet).
     */
    public List<PermissionFinding> checkPermissions() {
        try {
            List<PermissionFinding> findings = new ArrayList<>(PrivatePaths.examineDirectory(directory));
            PathFacts dir = PathFacts.of(directory);
            if (dir.exists() && dir.directory() && !dir.symlink()) {
                try (DirectoryStream<Path> ds = Files.newDirectoryStream(directory, "msal_mtls*")) {
                    for (Path p : ds) {
                        findings.addAll(PrivatePaths.examineFile(p));
                    }
                }
            }
            return findings;
        } catch (IOException e) {
            return List.of(new PermissionFinding(directory, PermissionFinding.Severity.ERROR,
                    "cannot examine: " + e.getMessage()));
        }
    }

    @Override
    public LoadResult load(ManagedIdentityId identity) {
        EntryFiles f = files(identity);
        try {
            Read r = readToServe(identity, f);
            if (r.problem() == null) {
                writeMissingPkcs12(f, r.credential());
                return r.result();
            }
            if (r.leftInPlace()) {
                return LoadResult.unusable(r.problem()).leftInPlace();
            }
            StoreLock lock;
            try {
                // Short: a caller that holds the lock re-enters at once; otherwise a writer holds it,
                // and the engine must not wait here a second time after its own lock wait ran out.
                lock = locks.acquire(f.lock(), QUARANTINE_LOCK_WAIT);
            } catch (StoreException busy) {
                return LoadResult.unusable(r.problem() + "; not moved aside yet: " + busy.getMessage());
            }
            try (lock) {
                r = read(identity, f, true); // a writer holding the lock may have replaced it meanwhile
                if (r.problem() == null) {
                    return r.result();
                }
                if (r.leftInPlace()) {
                    return LoadResult.unusable(r.problem()).leftInPlace();
                }
                List<Path> moved = quarantine.quarantine(f);
                String names = moved.stream().map(p -> p.getFileName().toString()).collect(Collectors.joining(", "));
                log().warn("{}; moved aside as {}", r.problem(), names);
                return LoadResult.unusable(r.problem() + "; moved aside as " + names);
            }
        } catch (IOException e) {
            throw new StoreException(f.pem().toString(), "cannot read the stored credential: " + e, e);
        }
    }

    /**
     * The entry as {@link #load} reads it (modes repaired, the usual entry handed over encoded), when
     * it has no problem; nothing is quarantined, and no lock is waited for: the engine serves what
     * this returns without the lock, and calls {@code load} under it for anything else. (The lock is
     * taken only when free at once, to write a missing PKCS#12 file, see writeMissingPkcs12.)
     */
    @Override
    public Optional<MtlsCredential> peek(ManagedIdentityId identity) {
        EntryFiles f = files(identity);
        try {
            Read r = readToServe(identity, f);
            if (r.problem() != null) {
                return Optional.empty();
            }
            writeMissingPkcs12(f, r.credential());
            return Optional.ofNullable(r.credential());
        } catch (IOException e) {
            throw new StoreException(f.pem().toString(), "cannot read the stored credential: " + e, e);
        }
    }

    private boolean pkcs12Missing(EntryFiles f) throws IOException {
        return writePkcs12 && !PathFacts.of(f.pkcs12()).exists();
    }

    /**
     * A store told to write PKCS#12 over an entry saved without it (the option turned on later, or
     * the file removed) writes it from the entry it serves, instead of at the next renewal days
     * later. Only beside the PEM it was read from, under the lock, and only when the lock is free
     * at once (or held by this thread, as the engine's load holds it): a peek must not wait behind
     * another process's renewal or a hung holder, so a busy lock leaves the file to a later read or
     * the next save. The file is secondary to the credential, which is served whatever happens here.
     */
    private void writeMissingPkcs12(EntryFiles f, MtlsCredential credential) throws IOException {
        if (credential == null || !pkcs12Missing(f)) {
            return;
        }
        StoreLock lock;
        try {
            lock = locks.acquire(f.lock(), Duration.ZERO);
        } catch (StoreException busy) {
            log().debug("{}: the PKCS#12 file is missing; written by a later read ({})", f.pkcs12(), busy.getMessage());
            return;
        }
        try (lock) {
            if (!pkcs12Missing(f) || !credential.x5tS256().equals(thumbprintInPlace(f))) {
                return; // written, or the entry replaced, meanwhile
            }
            SecureFiles.writeAtomically(f.pkcs12(), pkcs12(credential, f.pkcs12().toString()));
            log().info("{}: wrote the PKCS#12 file of the stored credential x5t#S256={}", f.pkcs12(), credential.x5tS256());
        } catch (IOException | RuntimeException e) {
            log().warn("{}: could not write the PKCS#12 file of the stored credential x5t#S256={} ({}); a later load or "
                    + "the next save writes it", f.pkcs12(), credential.x5tS256(), e.toString());
        }
    }

    @Override
    public List<String> warmUpClasses() {
        return READ_PATH_CLASSES;
    }

    @Override
    public LoadResult inspect(ManagedIdentityId identity) {
        EntryFiles f = files(identity);
        try {
            if (!directoryReadable(false)) {
                return LoadResult.absent();
            }
            Read r = read(identity, f, false);
            if (r.problem() == null) {
                return r.result();
            }
            LoadResult invalid = LoadResult.invalid(r.problem());
            return r.leftInPlace() ? invalid.leftInPlace() : invalid;
        } catch (StoreException e) {
            return LoadResult.invalid(e.getMessage());
        } catch (IOException e) {
            return LoadResult.invalid(f.pem() + ": cannot read: " + e);
        }
    }

    @Override
    public void save(MtlsCredential credential) {
        EntryFiles f = files(credential.identity());
        String where = f.pem().toString();
        PrivateKey key = credential.privateKey();
        byte[] pkcs8 = key.getEncoded();
        if (pkcs8 == null || !"PKCS#8".equals(key.getFormat())) {
            throw new StoreException(where, "the private key (" + credential.keyProtection()
                    + ") cannot be exported to PKCS#8; the Linux file store keeps software keys only");
        }
        X509Certificate leaf = credential.certificate();
        if (!KeyMatch.matches(leaf.getPublicKey(), key)) {
            throw new StoreException(where, "refusing to save: the private key does not belong to certificate x5t#S256="
                    + credential.x5tS256());
        }
        byte[] pem;
        try {
            pem = PemCodec.encode(pkcs8, credential.chain());
        } catch (GeneralSecurityException e) {
            throw new StoreException(where, "cannot encode the credential: " + e.getMessage(), e);
        }
        byte[] pfx = writePkcs12 ? pkcs12(credential, where) : null;
        EntryMetadata.Entry entry = EntryMetadata.Entry.of(credential);
        String identity = credential.identity().toString();
        boolean pfxReplaced = false;
        try {
            prepareDirectoryForWrite();
            try (StoreLock lock = locks.acquire(f.lock(), internalLockWait)) {
                removeTemps(f);
                for (Path p : f.entryFiles()) {
                    PrivatePaths.enforceFile(p);
                }
                if (pfx == null && Files.exists(f.pkcs12(), LinkOption.NOFOLLOW_LINKS)) {
                    // kept up to date once it exists; looked for under the lock, as a read may have just
                    // written it, and encoded before anything is written, as the rest is
                    pfx = pkcs12(credential, where);
                }
                EntryMetadata staged = previousMetadata(f, credential.identity())
                        .orElseGet(() -> new EntryMetadata(identity, List.of()))
                        .withNewest(entry, thumbprintInPlace(f), METADATA_ENTRIES_KEPT);
                SecureFiles.writeAtomically(f.metadata(), staged.toJson());
                if (pfx != null) {
                    SecureFiles.writeAtomically(f.pkcs12(), pfx);
                    pfxReplaced = true;
                }
                SecureFiles.writeAtomically(f.pem(), pem);
                compactMetadata(f, new EntryMetadata(identity, List.of(entry)));
            }
        } catch (IOException e) {
            throw new StoreException(where, "cannot save credential x5t#S256=" + credential.x5tS256() + ": " + writeProblem(e)
                    + "; " + afterFailedSave(f, credential, pfxReplaced), e);
        }
        log().debug("saved {} to {}", credential, where);
    }

    private static byte[] pkcs12(MtlsCredential credential, String where) {
        try {
            return Pkcs12Codec.encode(credential.privateKey(), credential.chain());
        } catch (GeneralSecurityException e) {
            throw new StoreException(where, "cannot encode the credential: " + e.getMessage(), e);
        }
    }

    @Override
    public List<String> delete(ManagedIdentityId identity) {
        EntryFiles f = files(identity);
        try {
            if (!directoryReadable(true)) {
                return List.of();
            }
            List<String> removed = new ArrayList<>();
            try (StoreLock lock = locks.acquire(f.lock(), internalLockWait)) {
                // PEM first: a reader then sees no entry rather than a PEM without metadata.
                for (Path p : f.entryFiles()) {
                    if (Files.deleteIfExists(p)) {
                        removed.add(p.toString());
                    }
                }
                for (Path p : quarantine.list(f)) {
                    if (Files.deleteIfExists(p)) {
                        removed.add(p.toString());
                    }
                }
                for (Path p : removeTemps(f)) {
                    removed.add(p.toString());
                }
                SecureFiles.fsyncDirectory(directory);
            }
            return removed;
        } catch (IOException e) {
            throw new StoreException(f.pem().toString(), "cannot delete: " + e, e);
        }
    }

    @Override
    public StoreLock lock(ManagedIdentityId identity, Duration maxWait) {
        Objects.requireNonNull(maxWait, "maxWait");
        EntryFiles f = files(identity);
        try {
            prepareDirectoryForWrite();
        } catch (IOException e) {
            throw new StoreException(directory.toString(), "cannot create the store directory: " + e, e);
        }
        return locks.acquire(f.lock(), maxWait);
    }

    /**
     * Who holds the identity's lock now (a process renewing), or empty when it is free; for
     * {@code doctor}: takes nothing and writes nothing.
     */
    public Optional<String> lockHolder(ManagedIdentityId identity) {
        EntryFiles f = files(identity);
        try {
            return locks.holder(f.lock());
        } catch (IOException e) {
            throw new StoreException(f.lock().toString(), "cannot examine the lock file: " + e.getMessage(), e);
        }
    }

    private EntryFiles files(ManagedIdentityId identity) {
        return new EntryFiles(directory, Objects.requireNonNull(identity, "identity"));
    }

    /** False when the directory does not exist; refuses a symlink or foreign owner, repairs its mode if asked. */
    private boolean directoryReadable(boolean repair) throws IOException {
        if (!PathFacts.of(directory).exists()) {
            return false;
        }
        if (repair) {
            enforceDirectory();
        } else {
            for (PermissionFinding finding : PrivatePaths.examineDirectory(directory)) {
                if (finding.severity() == PermissionFinding.Severity.ERROR) {
                    throw new StoreException(finding.path().toString(), finding.problem());
                }
            }
        }
        return true;
    }

    private void prepareDirectoryForWrite() throws IOException {
        SecureFiles.createPrivateDirectories(directory);
        enforceDirectory();
    }

    /**
     * Repairs the directory's mode, refuses it when it is not ours; warns of what is wrong above it
     * once per finding, not at each of the peek, load and save of every renewal ({@code doctor} and
     * {@link #checkPermissions} report it every time).
     */
    private void enforceDirectory() throws IOException {
        for (PermissionFinding f : PrivatePaths.enforceDirectory(directory)) {
            if (warnedAbove.add(f)) {
                log().warn("{}: {}", f.path(), f.problem());
            }
        }
    }

    /**
     * What the store holds for one identity, or the problem that makes it unusable; such an entry is
     * quarantined unless {@code leftInPlace} (a newer version's, which is not corrupt).
     */
    private record Read(MtlsCredential credential, String problem, boolean leftInPlace) {
        static final Read MISSING = new Read(null, null, false);

        LoadResult result() {
            return credential != null ? LoadResult.found(credential) : LoadResult.absent();
        }
    }

    /** The entry as load() and peek() read it: the directory checked and repaired first; MISSING without one. */
    private Read readToServe(ManagedIdentityId identity, EntryFiles f) throws IOException {
        return directoryReadable(true) ? read(identity, f, true) : Read.MISSING;
    }

    private Read read(ManagedIdentityId identity, EntryFiles f, boolean repair) throws IOException {
        checkPrivate(f.pkcs12(), repair); // never read here, but it holds the key too (under an empty password)
        try {
            return readChecked(identity, f, repair);
        } catch (OversizedFileException e) {
            return corrupt(e.file, e.getMessage());
        }
    }

    private Read readChecked(ManagedIdentityId identity, EntryFiles f, boolean repair) throws IOException {
        String mismatch = null;
        for (int attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
            if (attempt > 0) {
                ticker.pause(REREAD_PAUSE);
            }
            byte[] pemBytes = readPrivate(f.pem(), repair);
            if (pemBytes == null) {
                return Read.MISSING; // metadata alone is what a crash before the first PEM leaves
            }
            byte[] metaBytes = readPrivate(f.metadata(), repair);
            EntryMetadata meta = null;
            String metaProblem = null;
            if (metaBytes != null) {
                try {
                    meta = EntryMetadata.parse(metaBytes);
                } catch (EntryMetadata.MalformedMetadataException e) {
                    metaProblem = e.getMessage();
                } catch (EntryMetadata.NewerFormatException e) {
                    // Before the PEM is judged: a newer version may also have changed what its PEM holds.
                    return new Read(null, f.metadata() + ": " + e.getMessage(), true);
                }
            }
            PemCodec.Contents pem;
            try {
                pem = PemCodec.decode(pemBytes);
            } catch (PemCodec.MalformedPemException e) {
                return corrupt(f.pem(), e.getMessage());
            }
            // load() (repair) serves: the usual entry (what IMDS issues, one certificate) is checked without
            // the JCA and decoded at first use; the thumbprint lookup below is part of that check
            // (EncodedKeyAndCertificate). inspect() reports, for status and doctor, and anything a load does
            // not check so is decoded here: the JDK's decoders judge it.
            MtlsCredential.Builder keyAndChain = MtlsCredential.builder();
            String x5t;
            Optional<EncodedKeyAndCertificate> encoded = repair ? encoded(pem) : Optional.empty();
            if (encoded.isPresent()) {
                keyAndChain.encoded(encoded.get());
                x5t = encoded.get().x5tS256();
            } else {
                PemCodec.Decoded decoded;
                try {
                    decoded = pem.decodeWithJdk();
                } catch (PemCodec.MalformedPemException e) {
                    return corrupt(f.pem(), e.getMessage());
                }
                X509Certificate leaf = decoded.chain().get(0);
                if (!KeyMatch.matches(leaf.getPublicKey(), decoded.privateKey())) {
                    return corrupt(f.pem(), "the private key does not belong to the certificate");
                }
                keyAndChain.chain(decoded.chain()).privateKey(decoded.privateKey());
                x5t = MtlsCredential.x5tS256(leaf);
            }
            if (metaBytes == null) {
                mismatch = "metadata file is missing";
                continue;
            }
            if (metaProblem != null) {
                return corrupt(f.metadata(), metaProblem);
            }
            if (!meta.identity().toLowerCase(Locale.ROOT).equals(EntryFiles.canonical(identity))) {
                return corrupt(f.metadata(), "belongs to identity " + meta.identity() + ", not " + identity);
            }
            Optional<EntryMetadata.Entry> entry = meta.entryFor(x5t);
            if (entry.isEmpty()) {
                mismatch = "metadata has no entry for the certificate x5t#S256=" + x5t;
                continue;
            }
            try {
                return new Read(credential(identity, keyAndChain, entry.get()), null, false);
            } catch (IllegalArgumentException | NullPointerException e) {
                return corrupt(f.metadata(), "unusable entry: " + e.getMessage());
            }
        }
        return corrupt(f.pem(), mismatch);
    }

    private static Optional<EncodedKeyAndCertificate> encoded(PemCodec.Contents pem) {
        return pem.certificates().size() == 1 ? EncodedKeyAndCertificate.ifWellFormed(pem.pkcs8(), pem.certificates().get(0))
                : Optional.empty();
    }

    private static Read corrupt(Path file, String problem) {
        return new Read(null, file + ": " + problem, false);
    }

    private static MtlsCredential credential(ManagedIdentityId identity, MtlsCredential.Builder keyAndChain, EntryMetadata.Entry e) {
        MtlsCredential c = keyAndChain
                .identity(identity)
                .clientId(e.clientId())
                .tenantId(e.tenantId())
                .tokenEndpoint(e.tokenEndpoint())
                .renewAt(e.renewAt())
                .keyProtection(e.keyProtection())
                .attested(e.attested())
                .build();
        if (c.renewAt().isBefore(c.notBefore()) || !c.renewAt().isBefore(c.notAfter())) {
            // never written so: trusted, it would plan no renewal before expiry (or one at once, for ever)
            throw new IllegalArgumentException("renewAt " + c.renewAt() + " is outside the certificate's validity ("
                    + c.notBefore() + " .. " + c.notAfter() + ")");
        }
        return c;
    }

    /**
     * A store file's bytes, or null when absent. Checked first (symlink / owner refused, a too-open
     * mode repaired when {@code repair}), then opened without following links.
     */
    private static byte[] readPrivate(Path file, boolean repair) throws IOException {
        checkPrivate(file, repair);
        try (SeekableByteChannel ch = Files.newByteChannel(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
                InputStream in = Channels.newInputStream(ch)) {
            byte[] bytes = in.readNBytes(MAX_FILE_BYTES + 1);
            if (bytes.length > MAX_FILE_BYTES) {
                throw new OversizedFileException(file);
            }
            return bytes;
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /** Refuses a symlink, a foreign owner or a non-file; repairs a too-open mode when {@code repair}. No-op when absent. */
    private static void checkPrivate(Path file, boolean repair) throws IOException {
        if (repair) {
            PrivatePaths.enforceFile(file);
            return;
        }
        for (PermissionFinding finding : PrivatePaths.examineFile(file)) {
            if (finding.severity() == PermissionFinding.Severity.ERROR) {
                throw new StoreException(file.toString(), finding.problem());
            }
        }
    }

    /**
     * A failed write in words: "cannot create a file in /dir: permission denied" says more than
     * "java.nio.file.AccessDeniedException: /dir/.msal_mtls.json.tmp-5f0c...", which names a temp file
     * the user never sees and an exception class instead of the reason.
     */
    static String writeProblem(IOException e) {
        if (!(e instanceof FileSystemException fse) || fse.getFile() == null) {
            return e.getMessage() != null ? e.getMessage() : e.toString(); // e.g. "No space left on device"
        }
        Path file = Path.of(fse.getFile());
        String name = file.getFileName() == null ? "" : file.getFileName().toString();
        String what = name.startsWith(".") && name.contains(SecureFiles.TEMP_MARKER) && file.getParent() != null
                ? "cannot create a file in " + file.getParent() : file.toString();
        String reason = fse.getReason() != null ? fse.getReason()
                : e instanceof AccessDeniedException ? "permission denied"
                : e instanceof NoSuchFileException ? "no such file or directory"
                : e.getClass().getSimpleName();
        return what + ": " + reason;
    }

    /** The x5t#S256 of the certificate whose PEM is on disk now; null when there is none or it is unreadable. */
    private static String thumbprintInPlace(EntryFiles f) throws IOException {
        try {
            byte[] bytes = readPrivate(f.pem(), true);
            if (bytes == null) {
                return null;
            }
            PemCodec.Contents pem = PemCodec.decode(bytes);
            Optional<EncodedKeyAndCertificate> encoded = encoded(pem);
            return encoded.isPresent() ? encoded.get().x5tS256() : MtlsCredential.x5tS256(pem.decodeWithJdk().chain().get(0));
        } catch (OversizedFileException | PemCodec.MalformedPemException e) {
            return null;
        }
    }

    /**
     * A file in an entry's place far larger than any entry: not ours (or truncated garbage), so the
     * entry is corrupt and quarantined like any other, instead of failing every load until someone
     * removes it by hand.
     */
    private static final class OversizedFileException extends IOException {
        private static final long serialVersionUID = 1L;

        final transient Path file;

        OversizedFileException(Path file) {
            super("larger than " + MAX_FILE_BYTES + " bytes: not a store file");
            this.file = file;
        }
    }

    /** What a failed save left: said from what is on disk, since the step that failed may follow the PEM's rename. */
    private static String afterFailedSave(EntryFiles f, MtlsCredential saved, boolean pfxReplaced) {
        String inPlace;
        try {
            inPlace = thumbprintInPlace(f);
        } catch (IOException e) {
            return "what it left could not be read back: " + e;
        }
        if (saved.x5tS256().equals(inPlace)) {
            return "the new entry is in place, but may not be durable";
        }
        return "the previous entry stays in place" + (pfxReplaced ? ", but " + f.pkcs12().getFileName()
                + " already holds the new credential" : "");
    }

    /**
     * The metadata now on disk, to stage beside the new entry; empty when absent, unreadable or
     * oversized. A newer version's entry is refused, not overwritten: the caller keeps its credential
     * in memory, and the newer version keeps its files.
     */
    private static Optional<EntryMetadata> previousMetadata(EntryFiles f, ManagedIdentityId identity) throws IOException {
        try {
            byte[] bytes = readPrivate(f.metadata(), true);
            if (bytes == null) {
                return Optional.empty();
            }
            EntryMetadata m = EntryMetadata.parse(bytes);
            return m.identity().toLowerCase(Locale.ROOT).equals(EntryFiles.canonical(identity)) ? Optional.of(m)
                    : Optional.empty();
        } catch (OversizedFileException | EntryMetadata.MalformedMetadataException e) {
            return Optional.empty();
        } catch (EntryMetadata.NewerFormatException e) {
            throw new StoreException(f.metadata().toString(), "not saving over it: " + e.getMessage());
        }
    }

    /**
     * Drops the previous entries once the new PEM is in place. The store is already consistent, so a
     * failure here is only worth a warning.
     */
    private static void compactMetadata(EntryFiles f, EntryMetadata only) {
        try {
            SecureFiles.writeAtomically(f.metadata(), only.toJson());
        } catch (IOException e) {
            log().warn("{}: could not drop previous metadata entries ({}); the new entry is saved", f.metadata(), e.toString());
        }
    }

    /** Removes temp files an interrupted write left (called under the identity's lock). */
    private static List<Path> removeTemps(EntryFiles f) throws IOException {
        List<Path> removed = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(f.directory())) {
            for (Path p : ds) {
                if (f.isTemp(p.getFileName().toString()) && Files.deleteIfExists(p)) {
                    removed.add(p);
                }
            }
        }
        return removed;
    }

    /** Configures a {@link LinuxCredentialStore}; every setting has a default. */
    public static final class Builder {
        private Path directory;
        private Map<String, String> environment = System.getenv();
        private String userHome = System.getProperty("user.home");
        private boolean writePkcs12;
        private Clock clock = Clock.systemUTC();
        private Duration internalLockWait = Duration.ofSeconds(30);
        private Ticker ticker = Ticker.SYSTEM;

        private Builder() {
        }

        /** An explicit directory; null (the default) resolves it, see {@link StoreDirectory}. */
        public Builder directory(Path directory) {
            this.directory = directory;
            return this;
        }

        /** The environment the default directory is resolved from (default: this process'). */
        public Builder environment(Map<String, String> environment) {
            this.environment = Map.copyOf(environment);
            return this;
        }

        /** The {@code user.home} fallback when {@code HOME} is unset (default: the system property). */
        public Builder userHome(String userHome) {
            this.userHome = userHome;
            return this;
        }

        /** Also write {@code <base>.pfx} on every save (an existing one is always kept up to date). */
        public Builder writePkcs12(boolean writePkcs12) {
            this.writePkcs12 = writePkcs12;
            return this;
        }

        /** Stamps quarantined files. */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** How long save, delete and quarantine wait for the identity's lock (default 30 s). */
        public Builder internalLockWait(Duration wait) {
            this.internalLockWait = Objects.requireNonNull(wait, "wait");
            return this;
        }

        Builder ticker(Ticker ticker) {
            this.ticker = Objects.requireNonNull(ticker, "ticker");
            return this;
        }

        public LinuxCredentialStore build() {
            return new LinuxCredentialStore(this);
        }
    }

    /** Resolved at the first log line: slf4j's start-up (~15 ms in a fresh JVM) stays off a cold start's path. */
    private static Logger log() {
        return LogHolder.LOG;
    }

    private static final class LogHolder {
        static final Logger LOG = LoggerFactory.getLogger(LinuxCredentialStore.class);
    }
}
