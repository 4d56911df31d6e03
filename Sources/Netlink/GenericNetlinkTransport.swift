/// Sends generic netlink requests and returns their replies: the seam between the pure codecs and the socket.
///
/// `GenericNetlinkSocket` is the real one; tests put a scripted transport in its place.
public protocol GenericNetlinkTransport: AnyObject {
    /// The id of the generic netlink family called `name` ("IPVS").
    func resolveFamily(named name: String) throws(NetlinkError) -> UInt16

    /// Sends `request` and collects the data messages answering it until `NLMSG_DONE` or the ACK.
    /// - Parameters:
    ///   - style: `.dump` for `NLM_F_DUMP` requests, `.acknowledged` for requests with `NLM_F_ACK`.
    ///   - operation: names the request and its object in errors.
    /// - Throws: `NetlinkError`: the kernel's errno, libnl's failure, or a malformed reply.
    func exchange(_ request: GenericNetlinkMessage, style: NetlinkTransaction.Style, operation: String)
        throws(NetlinkError) -> [NetlinkMessage]

    /// Sends acknowledged requests, several per `sendmsg`, and collects their acknowledgements after: each
    /// request's failure, nil where the kernel applied it.
    /// - Throws: `NetlinkError` when the socket fails (the requests' fate is then unknown).
    func exchangeAcknowledged(_ requests: [(message: GenericNetlinkMessage, operation: String)])
        throws(NetlinkError) -> [NetlinkError?]
}

extension GenericNetlinkTransport {
    /// One request at a time, for transports that cannot batch (tests' scripted transports).
    public func exchangeAcknowledged(_ requests: [(message: GenericNetlinkMessage, operation: String)])
        throws(NetlinkError) -> [NetlinkError?]
    {
        requests.map { request -> NetlinkError? in
            do throws(NetlinkError) {
                _ = try exchange(request.message, style: .acknowledged, operation: request.operation)
                return nil
            } catch {
                return error
            }
        }
    }
}
