package io.msiagent.imds;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.Socket;
import javax.net.SocketFactory;

/**
 * Sockets that connect directly. OkHttp's {@code Proxy.NO_PROXY} only rules out its own HTTP
 * proxying: a plain JDK socket still asks the default {@link java.net.ProxySelector} for a SOCKS
 * proxy when it connects ({@code socksProxyHost}, or an application's selector), and the JDK's
 * default exceptions do not include 169.254.169.254. IMDS is link-local; a proxy could only
 * intercept it.
 */
final class DirectSocketFactory extends SocketFactory {
    static final DirectSocketFactory INSTANCE = new DirectSocketFactory();

    private DirectSocketFactory() {
    }

    @Override
    public Socket createSocket() {
        return new Socket(Proxy.NO_PROXY);
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
        return connected(new InetSocketAddress(host, port), null);
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
        return connected(new InetSocketAddress(host, port), new InetSocketAddress(localHost, localPort));
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
        return connected(new InetSocketAddress(host, port), null);
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) throws IOException {
        return connected(new InetSocketAddress(address, port), new InetSocketAddress(localAddress, localPort));
    }

    private static Socket connected(InetSocketAddress remote, InetSocketAddress local) throws IOException {
        Socket s = new Socket(Proxy.NO_PROXY);
        try {
            if (local != null) {
                s.bind(local);
            }
            s.connect(remote);
            return s;
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }
}
