import factory
from django.contrib.auth import get_user_model

from customers.models import Customer, Membership
from hosts.inventory.keys import public_line_from_private
from hosts.models import BackupJob, Cluster, ClusterMember, Host, Site, SSHCredential


def make_private_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        .decode()
    )


def make_public_key_line() -> str:
    return public_line_from_private(make_private_key())


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.django.Password("correct horse battery staple")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"customer-{n}")
    name = factory.LazyAttribute(lambda c: c.slug.replace("-", " ").title())


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    customer = factory.SubFactory(CustomerFactory)


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ("slug",)

    slug = "nyc1"
    name = "New York 1"


class SSHCredentialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SSHCredential
        django_get_or_create = ("name",)

    name = "ops"
    username = "nyiops"
    private_key = factory.LazyFunction(make_private_key)
    public_key = factory.LazyAttribute(lambda c: public_line_from_private(c.private_key))


class HostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Host

    name = factory.Sequence(lambda n: f"host{n}")
    address = "127.0.0.1"
    ssh_port = factory.Sequence(lambda n: 30000 + n)
    ssh_user = "nyiops"
    roles = factory.LazyFunction(lambda: ["web"])
    credential = factory.SubFactory(SSHCredentialFactory)


class ClusterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cluster

    name = factory.Sequence(lambda n: f"pair{n}")
    kind = "firewall"


class ClusterMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClusterMember

    cluster = factory.SubFactory(ClusterFactory)
    host = factory.SubFactory(HostFactory)
    role = "primary"


class BackupJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BackupJob

    name = factory.Sequence(lambda n: f"backup{n}")
    source = factory.SubFactory(HostFactory)
    target = factory.SubFactory(HostFactory, roles=["storage"])
    dataset = factory.LazyAttribute(lambda j: f"tank/backups/{j.name}")
    log_path = factory.LazyAttribute(lambda j: f"/var/log/nyiops-backup/{j.name}.log")
