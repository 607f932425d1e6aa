#!/usr/bin/python3
"""A CRI v1 client for the tests: the runtime.v1 RuntimeService and
ImageService calls the tests need, over containerd's gRPC socket.

Debian has python3-grpcio and python3-protobuf but no grpc_tools (protoc), so
the messages are declared here, by hand, from the published CRI API
(k8s.io/cri-api pkg/apis/runtime/v1/api.proto: the service, message and field
names and numbers are the interface), turned into a FileDescriptorProto and
built at run time with protobuf's descriptor pool and message factory. Only
the messages and fields the tests use are declared; a field left out is
skipped by the decoder as unknown, which proto3 allows.

As a command:
    cri.py -s SOCK CALL [JSON|@FILE|-]
(CALL ExecStream or AttachStream: the call and then its stream, see stream_call)
prints the response as JSON (proto field names, int64 as strings as protobuf's
JSON mapping says). CALL is a method name (Version, RunPodSandbox, ...).
As a module: Cri(sock).call('Version', {}) returns a dict.
"""
import json
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format
from google.protobuf import message_factory

F = descriptor_pb2.FieldDescriptorProto
SCALARS = {
    'string': F.TYPE_STRING, 'bytes': F.TYPE_BYTES, 'bool': F.TYPE_BOOL,
    'int32': F.TYPE_INT32, 'int64': F.TYPE_INT64,
    'uint32': F.TYPE_UINT32, 'uint64': F.TYPE_UINT64,
}

ENUMS = {
    'Protocol': ['TCP', 'UDP', 'SCTP'],
    'MountPropagation': ['PROPAGATION_PRIVATE', 'PROPAGATION_HOST_TO_CONTAINER',
                         'PROPAGATION_BIDIRECTIONAL'],
    'NamespaceMode': ['POD', 'CONTAINER', 'NODE', 'TARGET'],
    'PodSandboxState': ['SANDBOX_READY', 'SANDBOX_NOTREADY'],
    'ContainerState': ['CONTAINER_CREATED', 'CONTAINER_RUNNING',
                       'CONTAINER_EXITED', 'CONTAINER_UNKNOWN'],
}

# message: [(field, number, type)]; 'repeated T' and 'map<K,V>' as in .proto
MESSAGES = {
    'VersionRequest': [('version', 1, 'string')],
    'VersionResponse': [('version', 1, 'string'), ('runtime_name', 2, 'string'),
                        ('runtime_version', 3, 'string'),
                        ('runtime_api_version', 4, 'string')],
    'DNSConfig': [('servers', 1, 'repeated string'), ('searches', 2, 'repeated string'),
                  ('options', 3, 'repeated string')],
    'PortMapping': [('protocol', 1, 'Protocol'), ('container_port', 2, 'int32'),
                    ('host_port', 3, 'int32'), ('host_ip', 4, 'string')],
    'Mount': [('container_path', 1, 'string'), ('host_path', 2, 'string'),
              ('readonly', 3, 'bool'), ('selinux_relabel', 4, 'bool'),
              ('propagation', 5, 'MountPropagation')],
    'NamespaceOption': [('network', 1, 'NamespaceMode'), ('pid', 2, 'NamespaceMode'),
                        ('ipc', 3, 'NamespaceMode'), ('target_id', 4, 'string')],
    'Int64Value': [('value', 1, 'int64')],
    'UInt64Value': [('value', 1, 'uint64')],
    'LinuxSandboxSecurityContext': [
        ('namespace_options', 1, 'NamespaceOption'), ('run_as_user', 3, 'Int64Value'),
        ('readonly_rootfs', 4, 'bool'), ('supplemental_groups', 5, 'repeated int64'),
        ('privileged', 6, 'bool'), ('run_as_group', 8, 'Int64Value')],
    'LinuxPodSandboxConfig': [('cgroup_parent', 1, 'string'),
                              ('security_context', 2, 'LinuxSandboxSecurityContext'),
                              ('sysctls', 3, 'map<string,string>')],
    'PodSandboxMetadata': [('name', 1, 'string'), ('uid', 2, 'string'),
                           ('namespace', 3, 'string'), ('attempt', 4, 'uint32')],
    'PodSandboxConfig': [
        ('metadata', 1, 'PodSandboxMetadata'), ('hostname', 2, 'string'),
        ('log_directory', 3, 'string'), ('dns_config', 4, 'DNSConfig'),
        ('port_mappings', 5, 'repeated PortMapping'),
        ('labels', 6, 'map<string,string>'), ('annotations', 7, 'map<string,string>'),
        ('linux', 8, 'LinuxPodSandboxConfig')],
    'RunPodSandboxRequest': [('config', 1, 'PodSandboxConfig'),
                             ('runtime_handler', 2, 'string')],
    'RunPodSandboxResponse': [('pod_sandbox_id', 1, 'string')],
    'StopPodSandboxRequest': [('pod_sandbox_id', 1, 'string')],
    'StopPodSandboxResponse': [],
    'RemovePodSandboxRequest': [('pod_sandbox_id', 1, 'string')],
    'RemovePodSandboxResponse': [],
    'PodSandboxStatusRequest': [('pod_sandbox_id', 1, 'string'), ('verbose', 2, 'bool')],
    'PodIP': [('ip', 1, 'string')],
    'PodSandboxNetworkStatus': [('ip', 1, 'string'),
                                ('additional_ips', 2, 'repeated PodIP')],
    'Namespace': [('options', 2, 'NamespaceOption')],
    'LinuxPodSandboxStatus': [('namespaces', 1, 'Namespace')],
    'PodSandboxStatus': [
        ('id', 1, 'string'), ('metadata', 2, 'PodSandboxMetadata'),
        ('state', 3, 'PodSandboxState'), ('created_at', 4, 'int64'),
        ('network', 5, 'PodSandboxNetworkStatus'), ('linux', 6, 'LinuxPodSandboxStatus'),
        ('labels', 7, 'map<string,string>'), ('annotations', 8, 'map<string,string>'),
        ('runtime_handler', 9, 'string')],
    'PodSandboxStatusResponse': [('status', 1, 'PodSandboxStatus'),
                                 ('info', 2, 'map<string,string>')],
    'PodSandboxFilter': [('id', 1, 'string'),
                         ('label_selector', 3, 'map<string,string>')],
    'ListPodSandboxRequest': [('filter', 1, 'PodSandboxFilter')],
    'PodSandbox': [('id', 1, 'string'), ('metadata', 2, 'PodSandboxMetadata'),
                   ('state', 3, 'PodSandboxState'), ('created_at', 4, 'int64'),
                   ('labels', 5, 'map<string,string>'),
                   ('runtime_handler', 7, 'string')],
    'ListPodSandboxResponse': [('items', 1, 'repeated PodSandbox')],
    'ImageSpec': [('image', 1, 'string'), ('annotations', 2, 'map<string,string>')],
    'KeyValue': [('key', 1, 'string'), ('value', 2, 'string')],
    'LinuxContainerResources': [
        ('cpu_period', 1, 'int64'), ('cpu_quota', 2, 'int64'), ('cpu_shares', 3, 'int64'),
        ('memory_limit_in_bytes', 4, 'int64'), ('oom_score_adj', 5, 'int64'),
        ('cpuset_cpus', 6, 'string'), ('cpuset_mems', 7, 'string'),
        ('unified', 9, 'map<string,string>'), ('memory_swap_limit_in_bytes', 10, 'int64')],
    'Capability': [('add_capabilities', 1, 'repeated string'),
                   ('drop_capabilities', 2, 'repeated string')],
    'LinuxContainerSecurityContext': [
        ('capabilities', 1, 'Capability'), ('privileged', 2, 'bool'),
        ('namespace_options', 3, 'NamespaceOption'), ('run_as_user', 5, 'Int64Value'),
        ('run_as_username', 6, 'string'), ('readonly_rootfs', 7, 'bool'),
        ('supplemental_groups', 8, 'repeated int64'), ('no_new_privs', 11, 'bool'),
        ('run_as_group', 12, 'Int64Value')],
    'LinuxContainerConfig': [('resources', 1, 'LinuxContainerResources'),
                             ('security_context', 2, 'LinuxContainerSecurityContext')],
    'ContainerMetadata': [('name', 1, 'string'), ('attempt', 2, 'uint32')],
    'ContainerConfig': [
        ('metadata', 1, 'ContainerMetadata'), ('image', 2, 'ImageSpec'),
        ('command', 3, 'repeated string'), ('args', 4, 'repeated string'),
        ('working_dir', 5, 'string'), ('envs', 6, 'repeated KeyValue'),
        ('mounts', 7, 'repeated Mount'), ('labels', 9, 'map<string,string>'),
        ('annotations', 10, 'map<string,string>'), ('log_path', 11, 'string'),
        ('stdin', 12, 'bool'), ('stdin_once', 13, 'bool'), ('tty', 14, 'bool'),
        ('linux', 15, 'LinuxContainerConfig')],
    'CreateContainerRequest': [('pod_sandbox_id', 1, 'string'),
                               ('config', 2, 'ContainerConfig'),
                               ('sandbox_config', 3, 'PodSandboxConfig')],
    'CreateContainerResponse': [('container_id', 1, 'string')],
    'StartContainerRequest': [('container_id', 1, 'string')],
    'StartContainerResponse': [],
    'StopContainerRequest': [('container_id', 1, 'string'), ('timeout', 2, 'int64')],
    'StopContainerResponse': [],
    'RemoveContainerRequest': [('container_id', 1, 'string')],
    'RemoveContainerResponse': [],
    'ContainerStateValue': [('state', 1, 'ContainerState')],
    'ContainerFilter': [('id', 1, 'string'), ('state', 2, 'ContainerStateValue'),
                        ('pod_sandbox_id', 3, 'string'),
                        ('label_selector', 4, 'map<string,string>')],
    'ListContainersRequest': [('filter', 1, 'ContainerFilter')],
    'Container': [('id', 1, 'string'), ('pod_sandbox_id', 2, 'string'),
                  ('metadata', 3, 'ContainerMetadata'), ('image', 4, 'ImageSpec'),
                  ('image_ref', 5, 'string'), ('state', 6, 'ContainerState'),
                  ('created_at', 7, 'int64'), ('labels', 8, 'map<string,string>')],
    'ListContainersResponse': [('containers', 1, 'repeated Container')],
    'ContainerStatusRequest': [('container_id', 1, 'string'), ('verbose', 2, 'bool')],
    'ContainerResources': [('linux', 1, 'LinuxContainerResources')],
    'ContainerStatus': [
        ('id', 1, 'string'), ('metadata', 2, 'ContainerMetadata'),
        ('state', 3, 'ContainerState'), ('created_at', 4, 'int64'),
        ('started_at', 5, 'int64'), ('finished_at', 6, 'int64'),
        ('exit_code', 7, 'int32'), ('image', 8, 'ImageSpec'), ('image_ref', 9, 'string'),
        ('reason', 10, 'string'), ('message', 11, 'string'),
        ('labels', 12, 'map<string,string>'), ('annotations', 13, 'map<string,string>'),
        ('mounts', 14, 'repeated Mount'), ('log_path', 15, 'string'),
        ('resources', 16, 'ContainerResources')],
    'ContainerStatusResponse': [('status', 1, 'ContainerStatus'),
                                ('info', 2, 'map<string,string>')],
    'UpdateContainerResourcesRequest': [('container_id', 1, 'string'),
                                        ('linux', 2, 'LinuxContainerResources'),
                                        ('annotations', 4, 'map<string,string>')],
    'UpdateContainerResourcesResponse': [],
    'ReopenContainerLogRequest': [('container_id', 1, 'string')],
    'ReopenContainerLogResponse': [],
    'ExecSyncRequest': [('container_id', 1, 'string'), ('cmd', 2, 'repeated string'),
                        ('timeout', 3, 'int64')],
    'ExecSyncResponse': [('stdout', 1, 'bytes'), ('stderr', 2, 'bytes'),
                         ('exit_code', 3, 'int32')],
    'ExecRequest': [('container_id', 1, 'string'), ('cmd', 2, 'repeated string'),
                    ('tty', 3, 'bool'), ('stdin', 4, 'bool'), ('stdout', 5, 'bool'),
                    ('stderr', 6, 'bool')],
    'ExecResponse': [('url', 1, 'string')],
    'AttachRequest': [('container_id', 1, 'string'), ('stdin', 2, 'bool'),
                      ('tty', 3, 'bool'), ('stdout', 4, 'bool'), ('stderr', 5, 'bool')],
    'AttachResponse': [('url', 1, 'string')],
    'ContainerStatsRequest': [('container_id', 1, 'string')],
    'ContainerAttributes': [('id', 1, 'string'), ('metadata', 2, 'ContainerMetadata'),
                            ('labels', 3, 'map<string,string>')],
    'CpuUsage': [('timestamp', 1, 'int64'), ('usage_core_nano_seconds', 2, 'UInt64Value'),
                 ('usage_nano_cores', 3, 'UInt64Value')],
    'MemoryUsage': [('timestamp', 1, 'int64'), ('working_set_bytes', 2, 'UInt64Value'),
                    ('available_bytes', 3, 'UInt64Value'), ('usage_bytes', 4, 'UInt64Value'),
                    ('rss_bytes', 5, 'UInt64Value'), ('page_faults', 6, 'UInt64Value'),
                    ('major_page_faults', 7, 'UInt64Value')],
    'FilesystemIdentifier': [('mountpoint', 1, 'string')],
    'FilesystemUsage': [('timestamp', 1, 'int64'), ('fs_id', 2, 'FilesystemIdentifier'),
                        ('used_bytes', 3, 'UInt64Value'), ('inodes_used', 4, 'UInt64Value')],
    'ContainerStats': [('attributes', 1, 'ContainerAttributes'), ('cpu', 2, 'CpuUsage'),
                       ('memory', 3, 'MemoryUsage'),
                       ('writable_layer', 4, 'FilesystemUsage')],
    'ContainerStatsResponse': [('stats', 1, 'ContainerStats')],
    'StatusRequest': [('verbose', 1, 'bool')],
    'RuntimeCondition': [('type', 1, 'string'), ('status', 2, 'bool'),
                         ('reason', 3, 'string'), ('message', 4, 'string')],
    'RuntimeStatus': [('conditions', 1, 'repeated RuntimeCondition')],
    'StatusResponse': [('status', 1, 'RuntimeStatus'), ('info', 2, 'map<string,string>')],
    # ImageService
    'ImageFilter': [('image', 1, 'ImageSpec')],
    'ListImagesRequest': [('filter', 1, 'ImageFilter')],
    'Image': [('id', 1, 'string'), ('repo_tags', 2, 'repeated string'),
              ('repo_digests', 3, 'repeated string'), ('size', 4, 'uint64'),
              ('uid', 5, 'Int64Value'), ('username', 6, 'string'), ('pinned', 8, 'bool')],
    'ListImagesResponse': [('images', 1, 'repeated Image')],
    'ImageStatusRequest': [('image', 1, 'ImageSpec'), ('verbose', 2, 'bool')],
    'ImageStatusResponse': [('image', 1, 'Image'), ('info', 2, 'map<string,string>')],
    'AuthConfig': [('username', 1, 'string'), ('password', 2, 'string'),
                   ('auth', 3, 'string'), ('server_address', 4, 'string')],
    'PullImageRequest': [('image', 1, 'ImageSpec'), ('auth', 2, 'AuthConfig'),
                         ('sandbox_config', 3, 'PodSandboxConfig')],
    'PullImageResponse': [('image_ref', 1, 'string')],
    'RemoveImageRequest': [('image', 1, 'ImageSpec')],
    'RemoveImageResponse': [],
}

# method: (service, request, response)
_RT = 'runtime.v1.RuntimeService'
_IMG = 'runtime.v1.ImageService'
METHODS = {m: (_RT, m + 'Request', m + 'Response') for m in (
    'Version', 'RunPodSandbox', 'StopPodSandbox', 'RemovePodSandbox', 'PodSandboxStatus',
    'ListPodSandbox', 'CreateContainer', 'StartContainer', 'StopContainer',
    'RemoveContainer', 'ListContainers', 'ContainerStatus', 'UpdateContainerResources',
    'ReopenContainerLog', 'ExecSync', 'Exec', 'Attach', 'ContainerStats', 'Status')}
METHODS.update({m: (_IMG, m + 'Request', m + 'Response') for m in (
    'ListImages', 'ImageStatus', 'PullImage', 'RemoveImage')})


def _camel(s):
    return ''.join(p.capitalize() for p in s.split('_'))


def _field(msg, name, number, typ):
    f = msg.field.add(name=name, number=number, label=F.LABEL_OPTIONAL)
    if typ.startswith('repeated '):
        f.label = F.LABEL_REPEATED
        typ = typ[len('repeated '):]
    if typ.startswith('map<'):
        # a map is a repeated nested <Name>Entry {key = 1; value = 2} with map_entry set
        k, v = typ[4:-1].split(',')
        entry = msg.nested_type.add(name=_camel(name) + 'Entry')
        entry.options.map_entry = True
        _field(entry, 'key', 1, k.strip())
        _field(entry, 'value', 2, v.strip())
        f.label = F.LABEL_REPEATED
        f.type = F.TYPE_MESSAGE
        f.type_name = '.runtime.v1.%s.%s' % (msg.name, entry.name)
    elif typ in SCALARS:
        f.type = SCALARS[typ]
    elif typ in ENUMS:
        f.type = F.TYPE_ENUM
        f.type_name = '.runtime.v1.' + typ
    else:
        assert typ in MESSAGES, 'undeclared type ' + typ
        f.type = F.TYPE_MESSAGE
        f.type_name = '.runtime.v1.' + typ


def _build():
    fd = descriptor_pb2.FileDescriptorProto(name='cell/cri/api.proto', package='runtime.v1',
                                            syntax='proto3')
    for name, values in ENUMS.items():
        e = fd.enum_type.add(name=name)
        for i, v in enumerate(values):
            e.value.add(name=v, number=i)
    for name, fields in MESSAGES.items():
        m = fd.message_type.add(name=name)
        for fl in fields:
            _field(m, *fl)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    factory = message_factory.MessageFactory(pool)
    return {name: factory.GetPrototype(pool.FindMessageTypeByName('runtime.v1.' + name))
            for name in MESSAGES}


TYPES = _build()


class Cri:
    def __init__(self, sock, timeout=120):
        self.channel = grpc.insecure_channel('unix://' + sock)
        self.timeout = timeout
        self._stubs = {}

    def raw(self, method, request):
        """request: a message of METHODS[method][1]; returns the response message"""
        if method not in self._stubs:
            svc, req, resp = METHODS[method]
            self._stubs[method] = self.channel.unary_unary(
                '/%s/%s' % (svc, method),
                request_serializer=TYPES[req].SerializeToString,
                response_deserializer=TYPES[resp].FromString)
        return self._stubs[method](request, timeout=self.timeout)

    def call(self, method, req=None):
        """req: a dict (proto or JSON field names); returns a dict"""
        msg = json_format.ParseDict(req or {}, TYPES[METHODS[method][1]]())
        resp = self.raw(method, msg)
        # defaults included: SANDBOX_READY and exit code 0 are the zero values
        return json_format.MessageToDict(resp, preserving_proto_field_name=True,
                                         including_default_value_fields=True)


# The streaming calls: Exec and Attach answer with a URL on containerd's
# streaming server; the stream itself is Kubernetes' remotecommand protocol
# over a WebSocket (python3-websocket), subprotocol v4.channel.k8s.io: each
# binary message starts with its channel (0 stdin, 1 stdout, 2 stderr,
# 3 the final status as a JSON metav1.Status), as the kubelet's clients speak it.
STREAM_PROTO = 'v4.channel.k8s.io'


def stream(url, data=b'', until=None, timeout=20):
    """Sends data on stdin, reads stdout/stderr until the status (exec) or
    until `until` shows on stdout (attach). Returns (stdout, stderr, status)."""
    import websocket
    ws = websocket.create_connection(url.replace('http://', 'ws://', 1), timeout=timeout,
                                     subprotocols=[STREAM_PROTO])
    out, err, status = b'', b'', None
    try:
        if data:
            ws.send_binary(b'\x00' + data)
        while status is None:
            if until is not None and until.encode() in out:
                break
            op, msg = ws.recv_data()
            if op == websocket.ABNF.OPCODE_CLOSE:
                break
            if not msg:
                continue
            ch, msg = msg[0], msg[1:]
            if ch == 1:
                out += msg
            elif ch == 2:
                err += msg
            elif ch == 3:
                status = json.loads(msg)
    finally:
        ws.close()
    return out, err, status


def _exit_code(status):
    """0 on Success; the ExitCode cause of a NonZeroExitCode failure"""
    if status is None:
        return None
    if status.get('status') == 'Success':
        return 0
    for c in status.get('details', {}).get('causes', []):
        if c.get('reason') == 'ExitCode':
            return int(c['message'])
    return -1


def stream_call(cri, method, req):
    """ExecStream / AttachStream: the Exec or Attach call, then its stream.
    req: the ExecRequest/AttachRequest fields plus "input" (text for stdin)
    and, for attach, "until" (stop reading when stdout holds it)."""
    data = req.pop('input', '').encode()
    until = req.pop('until', None)
    url = cri.call(method[:-len('Stream')], req)['url']
    out, err, status = stream(url, data, until)
    return {'url': url, 'stdout': out.decode(errors='replace'),
            'stderr': err.decode(errors='replace'), 'exit_code': _exit_code(status)}


def main(argv):
    import argparse
    p = argparse.ArgumentParser(description='CRI v1 client (runtime.v1) for the tests')
    p.add_argument('-s', '--socket', required=True, help="the CRI's gRPC unix socket")
    p.add_argument('-t', '--timeout', type=float, default=120)
    p.add_argument('call', choices=sorted(list(METHODS) + ['ExecStream', 'AttachStream']))
    p.add_argument('request', nargs='?', default='{}',
                   help='the request as JSON, @FILE, or - for stdin')
    a = p.parse_args(argv)
    if a.request == '-':
        req = json.load(sys.stdin)
    elif a.request.startswith('@'):
        with open(a.request[1:]) as f:
            req = json.load(f)
    else:
        req = json.loads(a.request)
    try:
        c = Cri(a.socket, a.timeout)
        out = stream_call(c, a.call, req) if a.call.endswith('Stream') else c.call(a.call, req)
    except grpc.RpcError as e:
        print('cri: %s: %s: %s' % (a.call, e.code().name, e.details()), file=sys.stderr)
        return 1
    except Exception as e:  # the stream: a refused upgrade, a timeout
        print('cri: %s: %s' % (a.call, e), file=sys.stderr)
        return 1
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    print()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
