package io.msiagent.cli;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * Would a proxy setting capture 169.254.169.254? msi-agent itself never proxies IMDS, but other
 * tools on the machine (and SDKs) do, which is a classic cause of hangs.
 */
final class ProxyCheck {
    static final String IMDS_IP = "169.254.169.254";

    private ProxyCheck() {
    }

    static DoctorCommand.Check check(Map<String, String> env, Properties props) {
        StringBuilder problems = new StringBuilder();
        String noProxy = first(env, "NO_PROXY", "no_proxy");
        for (String var : List.of("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")) {
            String v = env.get(var);
            if (v != null && !v.isBlank() && !envExcludes(noProxy)) {
                append(problems, var + " is set and NO_PROXY does not cover " + IMDS_IP);
            }
        }
        String host = props.getProperty("http.proxyHost");
        if (host != null && !host.isBlank() && !javaExcludes(props.getProperty("http.nonProxyHosts"))) {
            append(problems, "http.proxyHost=" + host + " and http.nonProxyHosts does not cover " + IMDS_IP);
        }
        if (problems.length() == 0) {
            return DoctorCommand.Check.pass("proxy", "no proxy setting captures " + IMDS_IP);
        }
        return DoctorCommand.Check.warn("proxy", problems + " (msi-agent bypasses proxies for IMDS; other tools may not:"
                + " add " + IMDS_IP + " to NO_PROXY)");
    }

    static boolean envExcludes(String noProxy) {
        if (noProxy == null) {
            return false;
        }
        for (String entry : noProxy.split(",")) {
            String e = entry.trim().toLowerCase(Locale.ROOT);
            if (e.equals("*") || e.equals(IMDS_IP) || e.equals("169.254.0.0/16") || e.equals("169.254.169.254/32")
                    || e.equals("169.254.") || e.equals(".169.254.169.254")) {
                return true;
            }
        }
        return false;
    }

    static boolean javaExcludes(String nonProxyHosts) {
        if (nonProxyHosts == null) {
            return false;
        }
        for (String entry : nonProxyHosts.split("\\|")) {
            String e = entry.trim();
            if (e.equals("*") || e.equals(IMDS_IP) || e.equals("169.254.*") || e.equals("169.254.169.*")) {
                return true;
            }
        }
        return false;
    }

    private static String first(Map<String, String> env, String... names) {
        for (String n : names) {
            String v = env.get(n);
            if (v != null) {
                return v;
            }
        }
        return null;
    }

    private static void append(StringBuilder b, String s) {
        if (b.length() > 0) {
            b.append("; ");
        }
        b.append(s);
    }
}
