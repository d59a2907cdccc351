#!/usr/bin/python3
"""Exercise the broker with pika (a real Python AMQP client) and print JSON results.

Usage: /usr/bin/python3 pika_client.py amqp://guest:guest@127.0.0.1:PORT
"""
import json
import sys
import uuid

import pika


def main():
    url = sys.argv[1]
    out = {}
    params = pika.URLParameters(url)
    conn = pika.BlockingConnection(params)
    ch = conn.channel()
    out["server_product"] = conn._impl.server_properties.get("product", b"").decode() if isinstance(
        conn._impl.server_properties.get("product"), bytes) else conn._impl.server_properties.get("product")
    suffix = uuid.uuid4().hex[:8]
    ex = "wt.pika.x." + suffix
    qname = "wt.pika.q." + suffix
    ch.exchange_declare(exchange=ex, exchange_type="direct", durable=False, auto_delete=False)
    ok = ch.queue_declare(queue=qname, durable=False, exclusive=True)
    out["declare_queue"] = ok.method.queue
    ch.queue_bind(queue=qname, exchange=ex, routing_key="rk")
    ch.confirm_delivery()
    confirmed = 0
    for i in range(5):
        ch.basic_publish(exchange=ex, routing_key="rk", body=("m%d" % i).encode(),
                         properties=pika.BasicProperties(content_type="text/plain", headers={"i": i}))
        confirmed += 1
    out["confirmed"] = confirmed
    # unroutable mandatory publish in confirm mode → UnroutableError
    try:
        ch.basic_publish(exchange=ex, routing_key="nobody", body=b"x", mandatory=True)
        out["unroutable"] = "delivered"
    except pika.exceptions.UnroutableError as e:
        out["unroutable"] = "returned:%d" % e.messages[0].method.reply_code
    passive = ch.queue_declare(queue=qname, passive=True)
    out["passive_count"] = passive.method.message_count
    method, props, body = ch.basic_get(queue=qname, auto_ack=False)
    out["get"] = {"body": body.decode(), "message_count": method.message_count,
                  "content_type": props.content_type, "headers": props.headers}
    ch.basic_ack(method.delivery_tag)
    got = []
    for method, props, body in ch.consume(queue=qname, auto_ack=False, inactivity_timeout=2):
        if method is None:
            break
        got.append(body.decode())
        ch.basic_ack(method.delivery_tag)
        if len(got) == 4:
            break
    ch.cancel()
    out["consumed"] = got
    empty = ch.basic_get(queue=qname, auto_ack=True)
    out["get_empty"] = empty[0] is None
    # channel error: passive declare of a missing queue
    ch2 = conn.channel()
    try:
        ch2.queue_declare(queue="wt.pika.missing." + suffix, passive=True)
        out["missing"] = None
    except pika.exceptions.ChannelClosedByBroker as e:
        out["missing"] = [e.reply_code, e.reply_text]
    ch.exchange_delete(exchange=ex)
    conn.close()
    out["ok"] = True
    print(json.dumps(out))


if __name__ == "__main__":
    main()
