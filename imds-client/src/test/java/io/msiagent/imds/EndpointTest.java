package io.msiagent.imds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.util.List;
import java.util.Map;
import mockwebserver3.MockResponse;
import org.junit.jupiter.api.Test;

class EndpointTest {
    @Test
    void explicitWinsOverEverything() {
        assertEquals("http://explicit:1", ImdsClient.resolveEndpoint("http://explicit:1/", Map.of(
                "MSI_AGENT_IMDS_ENDPOINT", "http://agent:2", "AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://pod:3")));
    }

    @Test
    void agentVariableWinsOverPodIdentity() {
        assertEquals("http://agent:2", ImdsClient.resolveEndpoint(null, Map.of(
                "MSI_AGENT_IMDS_ENDPOINT", "http://agent:2//", "AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://pod:3")));
    }

    @Test
    void podIdentityHostIsUsedWhenNothingElseIsSet() {
        assertEquals("http://pod:3", ImdsClient.resolveEndpoint(null, Map.of(
                "AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://pod:3/")));
    }

    @Test
    void blankValuesAreSkipped() {
        assertEquals("http://pod:3", ImdsClient.resolveEndpoint("  ", Map.of("MSI_AGENT_IMDS_ENDPOINT", "",
                "AZURE_POD_IDENTITY_AUTHORITY_HOST", " http://pod:3 ")));
        assertEquals(ImdsClient.DEFAULT_ENDPOINT, ImdsClient.resolveEndpoint("", Map.of(
                "MSI_AGENT_IMDS_ENDPOINT", " ", "AZURE_POD_IDENTITY_AUTHORITY_HOST", "\t")));
    }

    @Test
    void defaultIsTheLinkLocalAddress() {
        assertEquals("http://169.254.169.254", ImdsClient.resolveEndpoint(null, Map.of()));
    }

    @Test
    void theBuilderDefaultsToTheProcessEnvironment() {
        assertEquals(ImdsClient.resolveEndpoint(null, System.getenv()), ImdsClient.builder().build().endpoint());
    }

    @Test
    void theBuilderStripsTrailingSlashesAndRefusesNonUrls() {
        assertEquals("http://127.0.0.1:8080", ImdsClient.builder().endpoint("http://127.0.0.1:8080/").build().endpoint());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ImdsClient.builder().endpoint("169.254.169.254").build());
        assertEquals("IMDS endpoint is not an http(s) URL: '169.254.169.254'", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ImdsClient.builder().endpoint("ftp://x").build());
        assertThrows(IllegalArgumentException.class, () -> ImdsClient.builder().callDeadline(java.time.Duration.ZERO));
    }

    @Test
    void anEndpointWithAPathKeepsIt() throws Exception {
        try (ImdsServer imds = new ImdsServer()) {
            imds.enqueue(ImdsServer.metadataOk());
            FakeTime time = new FakeTime();
            ImdsClient.builder().endpoint(imds.endpoint() + "/prefix/").sleeper(time).time(time).build()
                    .platformMetadata(IdentitySelector.systemAssigned());
            assertEquals("/prefix/metadata/identity/getplatformmetadata", imds.take().getUrl().encodedPath());
        }
    }

    @Test
    void imdsIsNeverReachedThroughAProxy() throws Exception {
        ProxySelector original = ProxySelector.getDefault();
        try (ImdsServer imds = new ImdsServer(); ImdsServer proxy = new ImdsServer()) {
            proxy.enqueue(new MockResponse.Builder().code(502).build());
            imds.enqueue(ImdsServer.metadataOk());
            InetSocketAddress proxyAddress = new InetSocketAddress("127.0.0.1", proxy.server.getPort());
            ProxySelector.setDefault(new ProxySelector() {
                @Override
                public List<Proxy> select(URI uri) {
                    return List.of(new Proxy(Proxy.Type.HTTP, proxyAddress));
                }

                @Override
                public void connectFailed(URI uri, SocketAddress sa, IOException ioe) {
                }
            });
            FakeTime time = new FakeTime();

            ImdsClient.builder().endpoint(imds.endpoint()).sleeper(time).time(time).build()
                    .platformMetadata(IdentitySelector.systemAssigned());

            assertEquals(1, imds.requestCount());
            assertEquals(0, proxy.requestCount());
        } finally {
            ProxySelector.setDefault(original);
        }
    }

    /**
     * A SOCKS proxy is applied by the JDK's own socket at connect (socksProxyHost, or a default
     * selector answering socket:// URIs), below OkHttp's Proxy.NO_PROXY.
     */
    @Test
    void imdsIsNeverReachedThroughASocksProxy() throws Exception {
        ProxySelector original = ProxySelector.getDefault();
        List<URI> asked = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (ImdsServer imds = new ImdsServer(); java.net.ServerSocket socks = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            imds.enqueue(ImdsServer.metadataOk());
            InetSocketAddress socksAddress = new InetSocketAddress("127.0.0.1", socks.getLocalPort());
            ProxySelector.setDefault(new ProxySelector() {
                @Override
                public List<Proxy> select(URI uri) {
                    asked.add(uri);
                    return List.of(new Proxy(Proxy.Type.SOCKS, socksAddress));
                }

                @Override
                public void connectFailed(URI uri, SocketAddress sa, IOException ioe) {
                }
            });
            FakeTime time = new FakeTime();

            ImdsClient.builder().endpoint(imds.endpoint()).sleeper(time).time(time).readTimeout(java.time.Duration.ofSeconds(2))
                    .build().platformMetadata(IdentitySelector.systemAssigned());

            assertEquals(1, imds.requestCount());
            assertEquals(List.of(), asked, "no proxy was even asked for");
        } finally {
            ProxySelector.setDefault(original);
        }
    }
}
