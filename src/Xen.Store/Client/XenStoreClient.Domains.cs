using System.Globalization;
using Xen.Store.Wire;

namespace Xen.Store.Client;

// The protocol's domain, control, feature and quota operations (most of them for dom0 only).
public sealed partial class XenStoreClient
{
    /// <summary>GET_DOMAIN_PATH: the home of domain <paramref name="domainId"/> (<c>/local/domain/&lt;domid&gt;</c>).</summary>
    public async ValueTask<string> GetDomainPathAsync(uint domainId, CancellationToken cancellationToken = default) =>
        XsPayload.FirstString(await RequestAsync(XsMessageType.GetDomainPath, 0, [Decimal(domainId)], default, null, cancellationToken).ConfigureAwait(false));

    /// <summary>INTRODUCE (dom0 only): tells the daemon to serve domain <paramref name="domainId"/> over the page at <paramref name="gfn"/> with event channel <paramref name="eventChannel"/>.</summary>
    /// <exception cref="XenStoreErrorException">EACCES from a non-privileged connection; EINVAL; EEXIST/EISCONN.</exception>
    public ValueTask IntroduceAsync(uint domainId, ulong gfn, uint eventChannel, CancellationToken cancellationToken = default) =>
        RequestOkAsync(XsMessageType.Introduce, 0, [Decimal(domainId), gfn.ToString(CultureInfo.InvariantCulture), Decimal(eventChannel)], default, null, cancellationToken);

    /// <summary>RELEASE (dom0 only): tells the daemon to stop serving domain <paramref name="domainId"/>; fires @releaseDomain.</summary>
    public ValueTask ReleaseAsync(uint domainId, CancellationToken cancellationToken = default) =>
        RequestOkAsync(XsMessageType.Release, 0, [Decimal(domainId)], default, null, cancellationToken);

    /// <summary>IS_DOMAIN_INTRODUCED: whether the daemon serves domain <paramref name="domainId"/>.</summary>
    public async ValueTask<bool> IsDomainIntroducedAsync(uint domainId, CancellationToken cancellationToken = default) =>
        XsPayload.Boolean(await RequestAsync(XsMessageType.IsDomainIntroduced, 0, [Decimal(domainId)], default, null, cancellationToken).ConfigureAwait(false), XsMessageType.IsDomainIntroduced);

    /// <summary>RESUME (dom0 only): re-arms @releaseDomain for a domain that was shut down and restarted.</summary>
    public ValueTask ResumeAsync(uint domainId, CancellationToken cancellationToken = default) =>
        RequestOkAsync(XsMessageType.Resume, 0, [Decimal(domainId)], default, null, cancellationToken);

    /// <summary>SET_TARGET (dom0 only): domain <paramref name="domainId"/> gets the privileges of its target over it (a device model's domain, say).</summary>
    public ValueTask SetTargetAsync(uint domainId, uint targetDomainId, CancellationToken cancellationToken = default) =>
        RequestOkAsync(XsMessageType.SetTarget, 0, [Decimal(domainId), Decimal(targetDomainId)], default, null, cancellationToken);

    /// <summary>CONTROL: an implementation-specific command (<c>check</c>, <c>help</c>, <c>quota</c>, <c>log on</c>, ...), returning the reply as the daemon sent it.</summary>
    /// <exception cref="XenStoreErrorException">EINVAL for an unknown command; EACCES for a guest.</exception>
    public ValueTask<byte[]> ControlAsync(string command, IReadOnlyList<string>? arguments = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(command);
        string[] args = [command, .. arguments ?? []];
        return RequestAsync(XsMessageType.Control, 0, args, default, command, cancellationToken);
    }

    /// <summary>GET_FEATURE: the feature bits of domain <paramref name="domainId"/>, or of the daemon itself when null (Xen 4.19+ daemons).</summary>
    /// <exception cref="XenStoreErrorException">ENOSYS from older daemons.</exception>
    public async ValueTask<uint> GetFeatureAsync(uint? domainId = null, CancellationToken cancellationToken = default) =>
        ParseDecimal(await RequestAsync(XsMessageType.GetFeature, 0, domainId is uint d ? [Decimal(d)] : [], default, null, cancellationToken).ConfigureAwait(false), XsMessageType.GetFeature);

    /// <summary>SET_FEATURE: sets the feature bits of domain <paramref name="domainId"/> (dom0 only).</summary>
    public ValueTask SetFeatureAsync(uint domainId, uint features, CancellationToken cancellationToken = default) =>
        RequestOkAsync(XsMessageType.SetFeature, 0, [Decimal(domainId), Decimal(features)], default, null, cancellationToken);

    /// <summary>GET_QUOTA: the named quota of domain <paramref name="domainId"/> (or the global default when null); with no name, the daemon's list of quota names.</summary>
    public async ValueTask<string> GetQuotaAsync(uint? domainId, string? quotaName, CancellationToken cancellationToken = default)
    {
        var args = new List<string>(2);
        if (domainId is uint d)
        {
            args.Add(Decimal(d));
        }

        if (quotaName is not null)
        {
            args.Add(quotaName);
        }

        byte[] reply = await RequestAsync(XsMessageType.GetQuota, 0, [.. args], default, null, cancellationToken).ConfigureAwait(false);
        return string.Join(' ', XsPayload.Strings(reply));
    }

    /// <summary>SET_QUOTA: sets the named quota of domain <paramref name="domainId"/> (or the global default when null).</summary>
    public ValueTask SetQuotaAsync(uint? domainId, string quotaName, uint value, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(quotaName);
        string[] args = domainId is uint d ? [Decimal(d), quotaName, Decimal(value)] : [quotaName, Decimal(value)];
        return RequestOkAsync(XsMessageType.SetQuota, 0, args, default, null, cancellationToken);
    }

    private static string Decimal(uint value) => value.ToString(CultureInfo.InvariantCulture);

    private static uint ParseDecimal(byte[] reply, XsMessageType type) =>
        uint.TryParse(XsPayload.FirstString(reply), NumberStyles.None, CultureInfo.InvariantCulture, out uint value)
            ? value
            : throw new XenStoreProtocolException($"A {type} reply should be a decimal number, not {XsPayload.Describe(reply)}.");
}
