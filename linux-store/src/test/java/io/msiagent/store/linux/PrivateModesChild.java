package io.msiagent.store.linux;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * A child JVM (run under another user and umask by PermissionsTest) that creates a store directory
 * two levels deep and a file in it, then prints their modes, or the failure.
 */
public final class PrivateModesChild {
    private PrivateModesChild() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        try {
            SecureFiles.createPrivateDirectories(dir);
            SecureFiles.createPrivateFile(dir.resolve("msal_mtls.pem")).close();
            System.out.println(mode(dir.getParent()) + " " + mode(dir) + " " + mode(dir.resolve("msal_mtls.pem")));
        } catch (Exception e) {
            System.out.println("FAILED " + e);
        }
    }

    private static String mode(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }
}
