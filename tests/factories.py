from decimal import Decimal

import factory

from customers.models import ClientCompany, ShippingAddress, User
from inventory.models import Carrier, Grade, Product, SupplierOffer, Warehouse
from suppliers.models import Supplier

DEMO_SHIP_TO = {"company": "Acme Mobile LLC", "name": "Jane Roe", "phone": "+1 555 0100",
                "line1": "1 Main St", "line2": "", "city": "Miami", "region": "FL",
                "postal_code": "33101", "country": "US"}


class ClientCompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClientCompany

    name = factory.Sequence(lambda n: f"Client {n} LLC")
    account_number = factory.Sequence(lambda n: f"T-{n:05d}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@client.example")
    company = factory.SubFactory(ClientCompanyFactory)
    role = User.Role.BUYER
    password = factory.django.Password("a-long-password")


class ShippingAddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShippingAddress

    company = factory.SubFactory(ClientCompanyFactory)
    label = "Main"
    company_name = DEMO_SHIP_TO["company"]
    contact_name = DEMO_SHIP_TO["name"]
    phone = DEMO_SHIP_TO["phone"]
    line1 = DEMO_SHIP_TO["line1"]
    city = DEMO_SHIP_TO["city"]
    region = DEMO_SHIP_TO["region"]
    postal_code = DEMO_SHIP_TO["postal_code"]
    country = "US"


class ProductFactory(factory.django.DjangoModelFactory):
    """A product on sale with its WeSellCellular offer (the supplier SKU equals ours)."""

    class Meta:
        model = Product
        skip_postgeneration_save = True

    sku = factory.Sequence(lambda n: f"APL-IP13-128-BLK-A-{n:04d}")
    manufacturer = "Apple"
    model_name = "iPhone 13"
    storage_gb = 128
    colour = "Black"
    grade = factory.LazyFunction(lambda: Grade.objects.get(code="A"))
    carrier = factory.LazyFunction(lambda: Carrier.objects.get(code="unlocked"))
    warehouse = factory.LazyFunction(lambda: Warehouse.objects.get(code="wsc"))
    sell_price = Decimal("450.00")

    @factory.post_generation
    def offer(product, create, extracted, **kwargs):
        if create:
            SupplierOffer.objects.create(
                supplier=Supplier.objects.get(slug="wesellcellular"), supplier_sku=product.sku,
                product=product, manufacturer=product.manufacturer,
                model_name=product.model_name, storage_gb=product.storage_gb,
                colour=product.colour, grade_code="A", carrier_code="Unlocked",
                warehouse_code="wsc-direct", quantity=kwargs.get("quantity", 100),
                cost_price=kwargs.get("cost_price", Decimal("412.50")))
