using System.Globalization;
using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>TRANSACTION_START and TRANSACTION_END.</summary>
internal sealed partial class StoreEngine
{
    private XsError? DoTransactionStart(in Request r)
    {
        ServerConnection conn = r.Connection;
        if (r.Transaction is not null)
        {
            return XsError.EBUSY; // no nested transactions (an unknown id is ENOENT already)
        }

        if (QuotaOf(conn).TooManyTransactions(conn.State.Transactions.Count))
        {
            return XsError.ENOSPC;
        }

        uint id;
        do
        {
            id = conn.State.NextTransactionId = unchecked(conn.State.NextTransactionId + 1);
        }
        while (id == 0 || conn.State.Transactions.ContainsKey(id));

        conn.State.AddTransaction(new StoreTransaction(_tree, id));
        Reply(in r, XsText.Latin1.GetBytes(id.ToString(CultureInfo.InvariantCulture) + "\0"));
        return null;
    }

    private XsError? DoTransactionEnd(in Request r, ReadOnlySpan<byte> payload)
    {
        XsError? e = OneArg(payload, out string arg);
        if (e != null || arg is not ("T" or "F"))
        {
            return XsError.EINVAL;
        }

        if (r.Transaction is not { } tx)
        {
            return XsError.ENOENT;
        }

        r.Connection.State.RemoveTransaction(tx.Id);
        if (arg == "T")
        {
            if (!tx.CanCommit())
            {
                return XsError.EAGAIN;
            }

            tx.Apply();
            foreach (PendingEvent pending in tx.Events)
            {
                FireNow(pending);
            }
        }

        Reply(in r, OkPayload);
        return null;
    }
}
