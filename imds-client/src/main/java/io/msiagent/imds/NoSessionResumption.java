package io.msiagent.imds;

import javax.net.ssl.SSLSocket;
import okhttp3.Call;
import okhttp3.Connection;
import okhttp3.EventListener;

/**
 * Invalidates each TLS session once its call has released the connection, so that the next token
 * request makes a full handshake. JSSE would otherwise resume the cached session (TLS 1.3 PSK or a
 * 1.2 session id) without asking the key manager again: after a credential rotation the server
 * would still see, and bind the token to, the previous certificate. Token requests are rare, a
 * full handshake each time costs nothing that matters.
 */
final class NoSessionResumption extends EventListener {
    @Override
    public void connectionReleased(Call call, Connection connection) {
        if (connection.socket() instanceof SSLSocket ssl) {
            // Tickets the server sent during the exchange hang off this session and go with it.
            ssl.getSession().invalidate();
        }
    }
}
