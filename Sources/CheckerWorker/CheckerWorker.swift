/// Health checkers as keepalived.conf(5) names them.
public enum CheckerKind: String, Sendable, CaseIterable {
    case tcp = "TCP_CHECK"
    case httpGet = "HTTP_GET"
    case sslGet = "SSL_GET"
    case smtp = "SMTP_CHECK"
    case dns = "DNS_CHECK"
    case misc = "MISC_CHECK"
    case udp = "UDP_CHECK"
    case ping = "PING_CHECK"
    case file = "FILE_CHECK"
}
