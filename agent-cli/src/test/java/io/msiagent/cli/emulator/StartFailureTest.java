package io.msiagent.cli.emulator;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;

/** A start that fails leaves nothing behind: no port bound, no server running. */
class StartFailureTest {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    @Test
    void aTakenHttpPortFailsTheStartAndFreesTheTlsPortAtOnce() throws IOException {
        // Ports found free here rather than fixed numbers: the usual fixed ranges lie inside Linux's
        // ephemeral range, where any other socket of the build may hold them.
        int tlsPort = freePort();
        try (ServerSocket taken = new ServerSocket(0, 50, LOOPBACK)) {
            UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> ImdsEmulator.start(
                    EmulatorConfig.builder().httpPort(taken.getLocalPort()).tlsPort(tlsPort).build()));
            assertTrue(e.getMessage().startsWith("cannot start the IMDS emulator"), e.getMessage());
        }
        try (ServerSocket again = new ServerSocket()) {
            again.bind(new InetSocketAddress(LOOPBACK, tlsPort));
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 50, LOOPBACK)) {
            return s.getLocalPort();
        }
    }
}
