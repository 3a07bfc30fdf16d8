# ruff: noqa: E501  (word-bank data lines read best unwrapped)
"""Word banks for the synthetic generator: industries, locations, tones, audiences, TLDs.

Industries are written as compact lines ``key | phrases | naming roots | offers`` (``/``
separates alternatives) so the bank stays readable; ``INDUSTRIES`` is the parsed form.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Industry:
    """One industry: how people describe it, words names are built from, what it offers."""

    key: str
    phrases: tuple[str, ...]
    roots: tuple[str, ...]
    offers: tuple[str, ...]


_INDUSTRY_LINES = """
coffee_shop | coffee shop/café/espresso bar/coffee roastery | bean/brew/roast/cup/java/mocha | single-origin pour-overs/house-roasted beans/oat-milk lattes
bakery | bakery/bread shop/patisserie | loaf/crumb/dough/bake/rye/knead | sourdough loaves/custom birthday cakes/fresh croissants
restaurant | family restaurant/bistro/neighbourhood diner | plate/fork/table/dish/spoon/feast | seasonal tasting menus/weekend brunch/wood-fired dishes
food_truck | food truck/street-food stall/taco truck | wheel/taco/grill/street/snack/bite | late-night tacos/rotating street-food menus/catering for events
brewery | craft brewery/microbrewery | hop/malt/barrel/ale/brew/keg | small-batch IPAs/brewery tours/seasonal lagers
florist | florist/flower shop/floral studio | bloom/petal/stem/posy/fern/blossom | wedding bouquets/same-day flower delivery/dried-flower wreaths
bookstore | bookstore/independent bookshop/used-book shop | page/novel/shelf/chapter/ink/spine | rare first editions/author readings/a kids' reading corner
pet_grooming | pet grooming salon/dog groomer/mobile pet spa | paw/fur/wag/pup/tail/whisker | breed-specific cuts/nail trims/flea-free baths
veterinary | veterinary clinic/animal hospital/vet practice | vet/paw/care/pet/heal/tail | emergency pet care/vaccinations/dental checkups for cats
yoga_studio | yoga studio/meditation space/pilates studio | flow/pose/breath/zen/mat/lotus | sunrise vinyasa classes/prenatal yoga/guided meditation
gym | gym/fitness studio/strength club | lift/rep/sweat/core/pulse/grit | personal training/HIIT classes/open-gym memberships
dental_clinic | dental clinic/dentist office/family dentistry | smile/tooth/floss/bright/enamel/grin | teeth whitening/gentle cleanings/invisible braces
law_firm | law firm/legal practice/boutique law office | law/counsel/brief/verdict/clause/lex | contract reviews/estate planning/startup incorporation
accounting | accounting firm/bookkeeping service/tax practice | ledger/tally/audit/sum/balance/tax | monthly bookkeeping/tax returns/payroll for small teams
real_estate | real estate agency/property brokerage/home-buying service | home/nest/key/door/estate/roof | first-home buying/property management/virtual house tours
plumbing | plumbing company/plumber/drain service | pipe/drain/flow/valve/tap/leak | emergency leak repair/water-heater installs/drain cleaning
electrician | electrician/electrical contractor | volt/spark/watt/wire/amp/circuit | panel upgrades/EV charger installs/smart-home wiring
landscaping | landscaping company/garden design studio/lawn care service | lawn/leaf/garden/yard/grove/moss | native-plant gardens/weekly lawn care/patio design
cleaning_service | house cleaning service/office cleaning company | shine/sparkle/fresh/tidy/clean/mop | eco-friendly deep cleans/move-out cleaning/weekly office cleaning
daycare | daycare/preschool/childcare center | tot/sprout/nest/play/giggle/crayon | play-based learning/after-school care/bilingual story time
tutoring | tutoring service/learning center/homework club | tutor/learn/study/grade/mentor/quill | SAT prep/math tutoring/reading support
language_school | language school/conversation club/language tutoring service | lingo/speak/word/verb/fluent/phrase | Spanish immersion/business English/evening Japanese classes
music_lessons | music school/piano studio/guitar lessons | note/chord/tune/melody/tempo/keys | beginner piano/rock band camps/vocal coaching
photography | photography studio/portrait photographer/wedding photographer | lens/frame/shutter/focus/snap/pixel | family portraits/product shoots/wedding albums
wedding_planning | wedding planner/event planning studio | vow/ring/aisle/bliss/toast/veil | destination weddings/day-of coordination/elopement packages
travel_agency | travel agency/tour operator/adventure travel company | trip/roam/voyage/trek/compass/journey | small-group tours/honeymoon packages/hiking trips
hotel | boutique hotel/bed and breakfast/guesthouse | stay/inn/rest/lodge/pillow/haven | sea-view rooms/homemade breakfasts/pet-friendly suites
car_repair | auto repair shop/car mechanic/tire and brake shop | gear/motor/torque/wrench/auto/piston | brake repair/oil changes/EV servicing
bike_shop | bike shop/bicycle repair workshop | pedal/spoke/gear/cycle/wheel/chain | e-bike rentals/tune-ups/custom wheel builds
software_startup | software startup/SaaS company/app studio | code/stack/byte/cloud/logic/sync | scheduling software/team dashboards/mobile apps
cybersecurity | cybersecurity firm/security consultancy | shield/guard/cipher/vault/lock/sentinel | penetration testing/security audits/phishing training
marketing_agency | marketing agency/branding studio/social media agency | brand/buzz/spark/reach/pitch/story | social media campaigns/brand identity/SEO
web_design | web design studio/website agency | pixel/site/web/grid/design/craft | small-business websites/online stores/accessibility audits
fintech | fintech startup/payments company/budgeting app | coin/cent/fund/pay/mint/ledger | budgeting tools/invoice payments/savings goals
insurance | insurance agency/insurance broker | cover/shield/safe/policy/anchor/harbor | home insurance/small-business cover/travel insurance
architecture | architecture firm/design-build studio | arch/beam/plan/form/draft/space | passive houses/home extensions/adaptive reuse projects
interior_design | interior design studio/home staging company | decor/nook/room/hue/loft/space | small-apartment makeovers/colour consultations/home staging
fashion_boutique | fashion boutique/clothing store/vintage clothing shop | thread/style/stitch/seam/wear/chic | upcycled denim/capsule wardrobes/locally made dresses
jewelry | jewelry studio/handmade jewelry shop | gem/gold/ring/charm/facet/glint | custom engagement rings/recycled silver/birthstone necklaces
hair_salon | hair salon/barbershop/hair studio | shear/curl/mane/lock/fade/strand | color correction/classic fades/bridal styling
spa | day spa/wellness spa/massage studio | calm/soak/glow/balm/retreat/serene | hot-stone massages/facials/couples' treatments
organic_farm | organic farm/farm stand/community-supported farm | harvest/field/acre/sprout/root/meadow | weekly veggie boxes/pick-your-own berries/free-range eggs
craft_store | craft store/knitting shop/art supply shop | yarn/craft/loom/knit/quilt/thread | knitting workshops/scrapbooking supplies/kids' craft kits
toy_store | toy store/wooden toy workshop/board game shop | toy/play/block/kite/puzzle/marble | wooden toys/educational games/puzzle nights
home_healthcare | home healthcare agency/in-home care service | care/comfort/well/hearth/kind/tend | elder companionship/post-surgery care/medication reminders
physiotherapy | physiotherapy clinic/sports rehab center | motion/stride/flex/mend/align/move | sports injury rehab/back pain care/post-op recovery
nonprofit | nonprofit/community charity/volunteer network | hope/unity/bridge/kind/common/uplift | food drives/literacy programs/community gardens
event_venue | event venue/party hall/rooftop venue | venue/hall/loft/gather/fete/soiree | corporate events/birthday parties/rooftop receptions
coworking | coworking space/shared office/creative hub | desk/hub/nook/commons/base/hive | hot desks/meeting rooms/podcast booths
moving_company | moving company/removals service | move/haul/box/crate/carry/load | apartment moves/long-distance moving/packing services
solar_energy | solar installer/clean energy company | solar/sun/ray/volt/beam/shine | rooftop solar panels/battery storage/energy audits
recycling | recycling service/repair café/zero-waste shop | loop/cycle/renew/reuse/green/thrift | e-waste recycling/refill stations/repair workshops
pottery_studio | pottery studio/ceramics workshop | clay/kiln/glaze/wheel/vessel/mug | wheel-throwing classes/handmade mugs/open studio nights
escape_room | escape room/puzzle adventure venue | clue/riddle/cipher/key/quest/vault | themed mystery rooms/team-building games/kids' puzzle parties
ice_cream | ice cream parlour/gelato shop/frozen yogurt bar | scoop/cone/swirl/sprinkle/gelato/freeze | small-batch gelato/vegan sorbets/sundae bars
catering | catering company/private chef service/meal-prep service | feast/plate/dish/chef/spice/savor | wedding catering/weekly meal prep/corporate lunches
tea_house | tea house/tea shop/bubble tea bar | leaf/steep/chai/matcha/kettle/brew | loose-leaf blends/matcha lattes/afternoon tea
podcast_studio | podcast studio/audio production company | mic/echo/wave/sound/cast/studio | podcast editing/recording booths/voice-over sessions
drone_services | drone photography company/aerial survey service | sky/aero/hover/drone/wing/orbit | aerial real-estate photos/roof inspections/event filming
beekeeping | beekeeping supply shop/honey farm | hive/honey/comb/bee/nectar/pollen | raw wildflower honey/beekeeping courses/beeswax candles
"""


def _parse(lines: str) -> dict[str, Industry]:
    out: dict[str, Industry] = {}
    for line in lines.strip().splitlines():
        key, phrases, roots, offers = (p.strip() for p in line.split("|"))
        out[key] = Industry(
            key, tuple(phrases.split("/")), tuple(roots.split("/")), tuple(offers.split("/"))
        )
    return out


INDUSTRIES: dict[str, Industry] = _parse(_INDUSTRY_LINES)

# (display name, naming root, short abbreviation or "")
LOCATIONS: tuple[tuple[str, str, str], ...] = (
    ("Austin", "austin", "atx"),
    ("Portland", "portland", "pdx"),
    ("Denver", "denver", "den"),
    ("Boston", "boston", "bos"),
    ("Seattle", "seattle", "sea"),
    ("Chicago", "chicago", "chi"),
    ("Miami", "miami", "mia"),
    ("Nashville", "nashville", "nash"),
    ("Brooklyn", "brooklyn", "bk"),
    ("Oakland", "oakland", "oak"),
    ("San Diego", "sandiego", "sd"),
    ("Phoenix", "phoenix", "phx"),
    ("Atlanta", "atlanta", "atl"),
    ("Minneapolis", "minneapolis", "mpls"),
    ("Toronto", "toronto", "yyz"),
    ("Vancouver", "vancouver", "van"),
    ("Dublin", "dublin", "dub"),
    ("Edinburgh", "edinburgh", "edi"),
    ("Lisbon", "lisbon", "lis"),
    ("Berlin", "berlin", "ber"),
    ("Melbourne", "melbourne", "mel"),
    ("Auckland", "auckland", "akl"),
    ("Cape Town", "capetown", "cpt"),
    ("Montreal", "montreal", "mtl"),
    ("Savannah", "savannah", "sav"),
    ("Boulder", "boulder", ""),
    ("Asheville", "asheville", ""),
    ("Santa Fe", "santafe", ""),
    ("Galway", "galway", ""),
    ("Bristol", "bristol", "brs"),
    ("Leeds", "leeds", ""),
    ("Halifax", "halifax", "hfx"),
    ("Tucson", "tucson", "tus"),
    ("Burlington", "burlington", "btv"),
)

# Places without a proper name: the name engine does not build location names from them.
PLACES: tuple[str, ...] = (
    "downtown",
    "a small coastal town",
    "the suburbs",
    "a mountain village",
    "our neighbourhood",
    "a university town",
    "the old harbour district",
    "a busy high street",
)

TONES: tuple[str, ...] = (
    "playful",
    "premium",
    "eco-friendly",
    "minimalist",
    "cozy",
    "bold",
    "family-friendly",
    "modern",
    "rustic",
    "luxurious",
    "quirky",
    "trustworthy",
    "professional",
    "vintage-inspired",
    "friendly",
    "upscale",
    "laid-back",
)

# Short brandable words a tone suggests (used as name modifiers).
TONE_WORDS: dict[str, tuple[str, ...]] = {
    "playful": ("happy", "jolly", "zippy"),
    "premium": ("prime", "select", "noble"),
    "eco-friendly": ("green", "leaf", "terra"),
    "minimalist": ("pure", "simple", "bare"),
    "cozy": ("cozy", "warm", "snug"),
    "bold": ("bold", "brave", "vivid"),
    "family-friendly": ("kin", "home", "folk"),
    "modern": ("nova", "next", "neo"),
    "rustic": ("oak", "barn", "hearth"),
    "luxurious": ("velvet", "gilded", "luxe"),
    "quirky": ("odd", "whimsy", "zany"),
    "trustworthy": ("true", "steady", "sure"),
    "professional": ("pro", "prime", "apex"),
    "vintage-inspired": ("retro", "classic", "olde"),
    "friendly": ("kind", "sunny", "pal"),
    "upscale": ("grand", "regal", "elite"),
    "laid-back": ("easy", "mellow", "chill"),
}

AUDIENCES: tuple[str, ...] = (
    "busy parents",
    "students",
    "retirees",
    "small businesses",
    "tourists",
    "remote workers",
    "young professionals",
    "pet owners",
    "local families",
    "startups",
    "seniors",
    "weekend athletes",
    "new homeowners",
    "artists and makers",
)

EXTRAS: tuple[str, ...] = (
    "run by a family for three generations",
    "with a strong focus on sustainability",
    "with online booking",
    "that donates part of every sale to local schools",
    "with a loyalty program",
    "open seven days a week",
    "with a small but devoted following",
    "that is moving into a bigger space next spring",
    "founded by two former teachers",
    "with a subscription option",
)

# TLD sets a request may ask for (weights favour .com as real users do).
TLD_SETS: tuple[tuple[str, ...], ...] = (
    (".com",),
    (".com",),
    (".com",),
    (".com", ".net"),
    (".com", ".io"),
    (".co",),
    (".org",),
    (".io",),
    (".com", ".co", ".org"),
    (".shop",),
    (".app",),
    (".ai",),
    (".dev",),
    (".studio",),
    (".net",),
)

# Generic roots for requests whose industry is unclear.
GENERIC_ROOTS: tuple[str, ...] = ("venture", "spark", "nova", "bright", "path", "core", "idea")
